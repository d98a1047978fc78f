//! Provisioning a pool account: every account profile's role, boundary and
//! access policy converged there exactly as bootstrap converges the shared
//! profiles at home, through IAM clients holding the pool's access role.

use super::desired::desired_pool_roles;
use super::{Action, Change, ProvisionError, Provisioner};
use crate::aws::members::MemberClients;
use crate::error::ApiError;

impl Provisioner {
    /// Converges the account profiles' roles in `member`'s account (a dry
    /// run reports the drift and writes nothing). Idempotent.
    pub async fn provision_account(
        &self,
        member: &MemberClients,
        dry_run: bool,
    ) -> Result<Vec<Change>, ProvisionError> {
        let identity = self.ctx.identity().await?;
        let desired = desired_pool_roles(&self.ctx.settings, &identity, &member.account_id)
            .map_err(|m| ApiError::invalid("invalid_policy", m))?;
        let mut changes = Vec::new();
        for want in &desired {
            changes = self.converge_role(member.iam.as_ref(), want, dry_run, changes).await?;
        }
        Ok(changes)
    }
}

/// The changes that are drift (not `unchanged`).
pub fn drift(changes: Vec<Change>) -> Vec<Change> {
    changes.into_iter().filter(|c| c.action != Action::Unchanged).collect()
}
