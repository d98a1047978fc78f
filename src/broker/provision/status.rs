//! `GET /admin/status`: each profile's role as IAM has it against the
//! configuration, and its revocation capacity. Reads only.

use serde::Serialize;

use super::plan::{Action, Change, is_managed, plan_role};
use super::{Provisioner, actual_role, desired};
use crate::broker::revocation::{self, Capacity};
use crate::config::Isolation;
use crate::error::ApiError;

/// One profile in `GET /admin/status`.
#[derive(Debug, Serialize)]
pub struct ProfileStatus {
    /// The profile's name.
    pub profile: String,
    /// Its role's name.
    pub role_name: String,
    /// Its role's ARN, when the role exists.
    pub role_arn: Option<String>,
    /// `provisioned`, `missing`, `drifted` or `unmanaged`; `pool_accounts`
    /// for an account profile (its role is in every pool account).
    pub state: &'static str,
    /// What differs from the configuration.
    pub drift: Vec<Change>,
    /// Revocation entries and IAM inline-policy characters used/left.
    pub revocations: Option<Capacity>,
}

impl Provisioner {
    /// What `GET /admin/status` shows: the broker's identity and trust
    /// principal, and each profile's role state. Reads only.
    pub async fn status(&self) -> Result<serde_json::Value, ApiError> {
        let identity = self.ctx.identity().await?;
        let profiles = self.profile_statuses().await?;
        let ledger = self.ledger_status().await?;
        let pool = self.pool_status().await?;
        Ok(serde_json::json!({
            "broker_principal_arn": identity.arn,
            "account": identity.account,
            "partition": identity.partition.id(),
            "role_chained": identity.is_role_session(),
            "trust_principal_arn": desired::trust_principal(&self.ctx.settings, &identity),
            "profiles": profiles,
            "ledger": ledger,
            "pool": pool,
        }))
    }

    /// Each profile's role: provisioned, missing, drifted (with what
    /// differs) or unmanaged. Reads only.
    async fn profile_statuses(&self) -> Result<Vec<ProfileStatus>, ApiError> {
        // Not while this replica bootstraps or tears down: a half-done run
        // would be reported as drift.
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let identity = self.ctx.identity().await?;
        let mut statuses = Vec::new();
        for want in self.desired(&identity, None)? {
            let have = actual_role(self.ctx.upstreams.iam.as_ref(), &want.role_name).await?;
            let managed = have.as_ref().map(|(h, _)| is_managed(&h.details));
            let mut drift: Vec<Change> = match &have {
                Some((h, _)) if managed == Some(true) => plan_role(&want, Some(h), &[])
                    .into_iter()
                    .map(|i| i.change)
                    .filter(|c| c.action != Action::Unchanged)
                    .collect(),
                _ => Vec::new(),
            };
            // Capacity from the documents just read plus the revocation ones.
            // A role deleted since (another replica's teardown) is no error
            // here: GetRolePolicy reads a vanished policy as absent.
            let (role_arn, revocations) = match have {
                Some((role, names)) => {
                    let iam = self.ctx.upstreams.iam.as_ref();
                    let capacity = revocation::capacity(iam, &want.role_name, &role.inline, names).await?;
                    (Some(role.details.info.arn), Some(capacity))
                }
                None => (None, None),
            };
            let foreign = revocations.as_ref().map_or(0, |c| c.foreign_statements);
            if foreign > 0 {
                drift.push(Change {
                    resource: format!("role/{}/revocations", want.role_name),
                    action: Action::Update,
                    detail: format!(
                        "{foreign} statement(s) in the revocation policies were not written by the broker: kept, \
                         and their aws:userid Denies honoured; move them to a policy of your own"
                    ),
                });
            }
            let state = match managed {
                None => "missing",
                Some(false) => "unmanaged",
                Some(true) if drift.is_empty() => "provisioned",
                Some(true) => "drifted",
            };
            statuses.push(ProfileStatus {
                revocations,
                profile: want.profile.clone(),
                role_arn,
                role_name: want.role_name,
                state,
                drift,
            });
        }
        // Account profiles' roles live in each pool account: their drift is
        // GET /admin/accounts/{id}'s.
        for (name, profile) in self.ctx.settings.profiles.iter().filter(|(_, p)| p.isolation == Isolation::Account) {
            statuses.push(ProfileStatus {
                profile: name.clone(),
                role_name: profile.role_name(name),
                role_arn: None,
                state: "pool_accounts",
                drift: Vec::new(),
                revocations: None,
            });
        }
        Ok(statuses)
    }
}
