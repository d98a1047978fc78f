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

impl Provisioner {
    /// `bootstrap --emit cloudformation-pool`: the account profiles' roles
    /// as one template for every pool account. Refused when a profile's
    /// documents name the account (`${account_id}`): each account would
    /// need its own, which is what the broker's convergence does.
    pub async fn pool_cloudformation(&self) -> Result<serde_json::Value, ApiError> {
        let identity = self.ctx.identity().await?;
        let render = |account: &str| {
            desired_pool_roles(&self.ctx.settings, &identity, account)
                .map_err(|m| ApiError::invalid("invalid_policy", m))
        };
        let (one, other) = (render("111111111111")?, render("222222222222")?);
        if one.is_empty() {
            return Err(ApiError::invalid("no_account_profiles", "no profile has isolation = \"account\""));
        }
        for (a, b) in one.iter().zip(&other) {
            let boundary =
                |d: &super::desired::DesiredRole| d.boundary.as_ref().map(|b| (b.name.clone(), b.document.clone()));
            if a.access_policy != b.access_policy || boundary(a) != boundary(b) {
                return Err(ApiError::invalid(
                    "account_specific_policy",
                    format!(
                        "profile {}'s policies name the pool account, so one template cannot serve every account; \
                         let the broker provision the accounts (POST /admin/accounts)",
                        a.profile
                    ),
                ));
            }
        }
        super::template::pool_cloudformation(&one).map_err(ApiError::Internal)
    }
}
