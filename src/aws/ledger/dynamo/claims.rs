//! Claims: the conditional writes through which replicas share the
//! cleanup work. A claim names its replica and expires, so a crashed
//! replica's session is taken over; finishing or releasing requires still
//! holding the claim.

use aws_sdk_dynamodb::types::ReturnValue;

use super::item::{from_item, n, report_value, s};
use super::{DynamoLedger, PENDING};
use crate::aws::UpstreamError;
use crate::aws::ledger::{CleanupReport, SessionRecord, SessionState};

impl DynamoLedger {
    pub(super) async fn claim_item(
        &self,
        session_id: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError> {
        let request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .update_expression(
                "SET #st = :cleaning, claim_owner = :owner, claim_expires_at = :until, \
                 ended_at = if_not_exists(ended_at, :now) ADD attempts :one",
            )
            .condition_expression(
                "queue = :pending AND due_at <= :now AND \
                 (attribute_not_exists(claim_expires_at) OR claim_expires_at < :now)",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":cleaning", s(SessionState::Cleaning.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllOld);
        // The old item tells the worker whether this claim ended an active
        // session (its lease ran out); the claimed record follows from it.
        match self.conditional_update(request).await? {
            Ok(old) => {
                let mut record = from_item(&old)?;
                let report = record.cleanup.get_or_insert_with(CleanupReport::default);
                report.attempts += 1;
                record.ended_at.get_or_insert(now);
                record.claim = Some((owner.to_owned(), until));
                Ok(Some(record))
            }
            Err(_) => Ok(None),
        }
    }

    pub(super) async fn renew_claim(&self, session_id: &str, owner: &str, until: u64) -> Result<bool, UpstreamError> {
        let request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .update_expression("SET claim_expires_at = :until")
            .condition_expression("claim_owner = :owner")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":owner", s(owner));
        Ok(self.conditional_update(request).await?.is_ok())
    }

    /// Stores a cleanup outcome while `owner` still holds the claim: the
    /// final `state` (the session leaves the due index), or, with `retry_at`,
    /// back to `ended` and due again then.
    pub(super) async fn store_outcome(
        &self,
        session_id: &str,
        owner: &str,
        state: SessionState,
        retry_at: Option<u64>,
        report: &CleanupReport,
    ) -> Result<bool, UpstreamError> {
        let request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .condition_expression("claim_owner = :owner")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":state", s(state.as_str()))
            .expression_attribute_values(":report", report_value(report))
            .expression_attribute_values(":owner", s(owner));
        let request = match retry_at {
            Some(due) => request
                .update_expression(
                    "SET #st = :state, due_at = :due, cleanup = :report REMOVE claim_owner, claim_expires_at",
                )
                .expression_attribute_values(":due", n(due)),
            None => request.update_expression(
                "SET #st = :state, cleanup = :report REMOVE queue, due_at, claim_owner, claim_expires_at",
            ),
        };
        Ok(self.conditional_update(request).await?.is_ok())
    }
}
