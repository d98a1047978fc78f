//! The writes that lease an account to a session, and reservations: a
//! replica claims a few available accounts ahead of the
//! requests that will lease them, so that binding one to a session is one
//! conditional write that runs alongside AssumeRole. A reservation moves
//! the account's `since` to when it expires, so the lease query (`since <=
//! now`) skips it until then, and an account reserved by a replica that
//! died is leasable again once its reservation runs out.

use super::{CANDIDATES, DynamoPool, from_item};
use crate::aws::UpstreamError;
use crate::aws::dynamo_table::{by_state, n, number, s, text};
use crate::aws::pool::{AccountRecord, AccountState};

impl DynamoPool {
    /// The write that leases `account_id` to `session_id`, for the caller
    /// to make conditional (on a free account, or on a reservation).
    pub(super) fn leasing(
        &self,
        account_id: &str,
        session_id: &str,
        now: u64,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .key("account_id", s(account_id))
            .update_expression(
                "SET #st = :leased, since = :now, session_id = :session, leased_at = :now REMOVE reserved_by",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":leased", s(AccountState::Leased.as_str()))
            .expression_attribute_values(":available", s(AccountState::Available.as_str()))
            .expression_attribute_values(":session", s(session_id))
            .expression_attribute_values(":now", n(now))
    }

    pub(super) async fn reserve_one(&self, owner: &str, now: u64, until: u64) -> Result<Option<String>, UpstreamError> {
        for account_id in self.since(AccountState::Available, now, CANDIDATES).await? {
            let request = self
                .client
                .update_item()
                .key("account_id", s(&account_id))
                .update_expression("SET since = :until, reserved_by = :owner")
                .condition_expression("#st = :available AND since <= :now")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":available", s(AccountState::Available.as_str()))
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":until", n(until))
                .expression_attribute_values(":now", n(now));
            if self.conditional_update(request).await?.is_ok() {
                return Ok(Some(account_id));
            }
        }
        Ok(None)
    }

    pub(super) async fn bind_reserved(
        &self,
        account_id: &str,
        owner: &str,
        until: u64,
        session_id: &str,
        now: u64,
    ) -> Result<bool, UpstreamError> {
        let request = self
            .leasing(account_id, session_id, now)
            .condition_expression("#st = :available AND reserved_by = :owner AND since = :until")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until));
        Ok(self.conditional_update(request).await?.is_ok())
    }

    /// Leases an account another replica reserved (its binding then fails,
    /// and that request falls back to a lease of its own).
    pub(super) async fn take_reserved(
        &self,
        session_id: &str,
        now: u64,
    ) -> Result<Option<AccountRecord>, UpstreamError> {
        let request = by_state(&self.client, &self.table, super::STATE_INDEX, AccountState::Available.as_str())
            .key_condition_expression("#st = :state AND since > :now")
            .expression_attribute_values(":now", n(now))
            .limit(CANDIDATES);
        let out = crate::aws::sdk_call(super::SERVICE, "Query", request.send()).await?;
        for item in out.items() {
            let (Some(account_id), Some(owner), Some(since)) =
                (text(item, "account_id"), text(item, "reserved_by"), number(item, "since"))
            else {
                continue;
            };
            let request = self
                .leasing(&account_id, session_id, now)
                .condition_expression("#st = :available AND reserved_by = :owner AND since = :since")
                .expression_attribute_values(":owner", s(&owner))
                .expression_attribute_values(":since", n(since));
            if let Ok(item) = self.conditional_update(request).await? {
                return from_item(&item).map(Some);
            }
        }
        Ok(None)
    }
}
