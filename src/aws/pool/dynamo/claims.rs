//! Reset claims: how replicas share the pool's resets, exactly as they
//! share session cleanups in the ledger. A claim names its replica and
//! expires, so a replica killed mid-reset is taken over by another once its
//! claim lapses; renewing and finishing require still holding it.

use super::{DynamoPool, from_item};
use crate::aws::UpstreamError;
use crate::aws::dynamo_table::{n, s};
use crate::aws::pool::{AccountRecord, AccountState, ResetEnd};

impl DynamoPool {
    pub(super) async fn claim_item(
        &self,
        account_id: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<Option<AccountRecord>, UpstreamError> {
        let request = self
            .client
            .update_item()
            .key("account_id", s(account_id))
            .update_expression("SET claim_owner = :owner, claim_expires_at = :until")
            .condition_expression(
                "#st = :resetting AND (attribute_not_exists(claim_expires_at) OR claim_expires_at < :now)",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":resetting", s(AccountState::Resetting.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now));
        match self.conditional_update(request).await? {
            Ok(item) => from_item(&item).map(Some),
            Err(_) => Ok(None),
        }
    }

    pub(super) async fn renew_item(&self, account_id: &str, owner: &str, until: u64) -> Result<bool, UpstreamError> {
        let request = self
            .client
            .update_item()
            .key("account_id", s(account_id))
            .update_expression("SET claim_expires_at = :until")
            .condition_expression("#st = :resetting AND claim_owner = :owner")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":resetting", s(AccountState::Resetting.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until));
        Ok(self.conditional_update(request).await?.is_ok())
    }

    /// The reset's end: the account leaves `resetting` with its report, one
    /// more reset counted, and the session and claim gone.
    pub(super) async fn finish_item(&self, end: &ResetEnd<'_>) -> Result<bool, UpstreamError> {
        let quarantined = end.to == AccountState::Quarantined;
        let since = if quarantined { end.now } else { end.available_at };
        let mut set =
            vec!["#st = :to", "since = :since", "#rs = :report", "resets = if_not_exists(resets, :zero) + :one"];
        let mut remove = vec!["claim_owner", "claim_expires_at", "session_id", "leased_at"];
        if quarantined {
            set.push("quarantine_reason = :reason");
        } else {
            remove.push("quarantine_reason");
        }
        let mut request = self
            .client
            .update_item()
            .key("account_id", s(end.account_id))
            .update_expression(format!("SET {} REMOVE {}", set.join(", "), remove.join(", ")))
            .condition_expression("#st = :resetting AND claim_owner = :owner")
            .expression_attribute_names("#st", "state")
            // RESET is one of DynamoDB's reserved words.
            .expression_attribute_names("#rs", "reset")
            .expression_attribute_values(":resetting", s(AccountState::Resetting.as_str()))
            .expression_attribute_values(":owner", s(end.owner))
            .expression_attribute_values(":to", s(end.to.as_str()))
            .expression_attribute_values(":since", n(since))
            .expression_attribute_values(":report", s(&serde_json::to_string(end.report).unwrap_or_default()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        if quarantined {
            request =
                request.expression_attribute_values(":reason", s(end.reason.unwrap_or("the reset was not clean")));
        }
        Ok(self.conditional_update(request).await?.is_ok())
    }
}
