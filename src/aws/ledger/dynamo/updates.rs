//! Writes beside a session's issue and end: freezing and unfreezing it,
//! extending its lease, claiming it for a meter pass;
//! undoing an account session's
//! binding when the lease behind it failed (a reservation another replica
//! took first) before any credential left, since the ledger must not name
//! an account the pool does not hold for it; and the spend meter's estimate.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;

use super::item::{from_item, n, s};
use super::{DynamoLedger, SERVICE};
use crate::aws::ledger::SessionRecord;
use crate::aws::ledger::SessionState::{Active, Frozen};
use crate::aws::ledger::spend::Spend;
use crate::aws::{UpstreamError, observed};

impl DynamoLedger {
    pub(super) async fn unbind_account(
        &self,
        session_id: &str,
        account_id: &str,
        since: u64,
    ) -> Result<bool, UpstreamError> {
        let created = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("session_id", s(session_id))
            .condition_expression("account_id = :account AND created_at >= :since")
            .expression_attribute_values(":account", s(account_id))
            .expression_attribute_values(":since", n(since));
        let deleted = observed(SERVICE, "DeleteItem", async {
            match created.send().await {
                Ok(_) => Ok(true),
                Err(err) => match err.as_service_error() {
                    Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(false),
                    _ => Err(UpstreamError::from_sdk(SERVICE, "DeleteItem", err)),
                },
            }
        })
        .await?;
        if deleted {
            return Ok(true);
        }
        let request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .update_expression("REMOVE account_id")
            .condition_expression("account_id = :account")
            .expression_attribute_values(":account", s(account_id));
        Ok(self.conditional_update(request).await?.is_ok())
    }

    /// active → frozen (recording when), or frozen → active.
    pub(super) async fn freeze_or_thaw(
        &self,
        session_id: &str,
        frozen: bool,
        now: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError> {
        let (from, to) = if frozen { (Active, Frozen) } else { (Frozen, Active) };
        let update = if frozen { "SET #st = :to, frozen_at = :now" } else { "SET #st = :to REMOVE frozen_at" };
        let mut request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .update_expression(update)
            .condition_expression("#st = :from")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()));
        if frozen {
            request = request.expression_attribute_values(":now", n(now));
        }
        match self.conditional_update(request).await? {
            Ok(new) => from_item(&new).map(Some),
            Err(_) => Ok(None),
        }
    }
}

impl DynamoLedger {
    /// Stores the meter's estimate whole (JSON text, like the cleanup
    /// report) and renews the storing replica's claim: one write a session a
    /// pass once the claim is held. `false` when the session is not in the
    /// ledger or another replica's claim has taken it.
    pub(super) async fn store_spend(
        &self,
        session_id: &str,
        spend: &Spend,
        owner: &str,
        until: u64,
    ) -> Result<bool, UpstreamError> {
        let json = serde_json::to_string(spend).unwrap_or_default();
        let request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .update_expression("SET spend = :spend, meter_until = :until")
            .condition_expression("meter_owner = :owner")
            .expression_attribute_values(":spend", s(&json))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until));
        Ok(self.conditional_update(request).await?.is_ok())
    }
}

impl DynamoLedger {
    /// An active session's lease end, moved only from where it was read.
    pub(super) async fn move_lease(
        &self,
        session_id: &str,
        from: u64,
        to: u64,
        due: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError> {
        let request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .update_expression("SET lease_expires_at = :to, due_at = :due")
            .condition_expression("#st = :active AND lease_expires_at = :from")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":active", s(Active.as_str()))
            .expression_attribute_values(":from", n(from))
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":due", n(due));
        match self.conditional_update(request).await? {
            Ok(new) => from_item(&new).map(Some),
            Err(_) => Ok(None),
        }
    }
}

impl DynamoLedger {
    /// The meter's claim: its own attributes, apart from cleanup's claim.
    pub(super) async fn claim_for_meter(
        &self,
        session_id: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, UpstreamError> {
        let request = self
            .client
            .update_item()
            .key("session_id", s(session_id))
            .update_expression("SET meter_owner = :owner, meter_until = :until")
            .condition_expression(
                "#st IN (:active, :frozen) AND \
                 (attribute_not_exists(meter_until) OR meter_until < :now OR meter_owner = :owner)",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":active", s(Active.as_str()))
            .expression_attribute_values(":frozen", s(Frozen.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":until", n(until));
        Ok(self.conditional_update(request).await?.is_ok())
    }
}
