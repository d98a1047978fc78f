//! The provisioning service: bootstrap, teardown and status, converging
//! IAM to the configured profiles like `terraform apply` / `destroy` /
//! `plan`. It needs no console or platform secrets, so the one-shot
//! `bootstrap` and `teardown` commands build only this.

pub mod desired;
mod ledger;
mod plan;
pub mod policy_parts;
mod pool_accounts;
mod pool_grants;
mod pool_table;
pub mod principals;
mod status;
pub mod template;

pub use plan::{Action, Change};
pub use pool_accounts::drift;
pub use status::ProfileStatus;

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use self::desired::{BOUNDARY_PATH, DesiredRole, desired_roles};
use self::plan::{ActualRole, Item, Step, is_managed, plan_boundary, plan_role, plan_teardown};
use self::principals::{Tables, broker_policy, provisioner_policy};
use super::context::Context;
use super::revocation::is_revocation_policy;
use crate::aws::{CallerIdentity, Iam, UpstreamError, UpstreamErrorKind, Upstreams, absent_as_none};
use crate::error::ApiError;

/// Converges, removes and reports the profiles' IAM roles.
pub struct Provisioner {
    ctx: Arc<Context>,
    /// Bootstrap, teardown and status of one replica run one at a time:
    /// interleaved, one could delete a role the other has just read.
    one_at_a_time: tokio::sync::Mutex<()>,
    /// The account profiles' role names (in pool accounts, not here).
    pool_roles: Vec<String>,
}

/// What bootstrap or teardown did (or would do).
#[derive(Debug, Serialize)]
pub struct BootstrapReport {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// One line per resource.
    pub changes: Vec<Change>,
    /// The principal the broker runs as.
    pub broker_principal_arn: String,
    /// The identity policy the serving broker's principal needs.
    pub broker_policy: Value,
    /// `broker_policy` as documents that each fit IAM's managed-policy
    /// limit (6,144 characters): attach all of them.
    pub broker_policy_parts: Vec<Value>,
    /// The identity policy the principal running bootstrap and teardown needs.
    pub provisioner_policy: Value,
}

/// A run that failed part-way: what was done before the failure, so the
/// operator knows the next run will repair the rest.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct ProvisionError {
    /// What went wrong.
    pub source: ApiError,
    /// The changes made before it.
    pub completed: Vec<Change>,
}

impl From<ApiError> for ProvisionError {
    fn from(source: ApiError) -> Self {
        Self { source, completed: Vec::new() }
    }
}

impl From<UpstreamError> for ProvisionError {
    fn from(err: UpstreamError) -> Self {
        ApiError::from(err).into()
    }
}

/// The role as IAM has it, or `None`. A NoSuchEntity after GetRole means the
/// role was deleted while being read (by another replica's teardown): it is
/// absent now, and planning from that is correct.
async fn actual_role(iam: &dyn Iam, role: &str) -> Result<Option<(ActualRole, Vec<String>)>, UpstreamError> {
    absent_as_none(read_role(iam, role).await).map(Option::flatten)
}

async fn read_role(iam: &dyn Iam, role: &str) -> Result<Option<(ActualRole, Vec<String>)>, UpstreamError> {
    let Some(details) = iam.role_details(role).await? else {
        return Ok(None);
    };
    let mut inline = std::collections::BTreeMap::new();
    let mut revocations = Vec::new();
    for name in iam.list_inline_policies(role).await? {
        if is_revocation_policy(&name) {
            revocations.push(name);
        } else if let Some(doc) = iam.get_inline_policy(role, &name).await? {
            inline.insert(name, doc);
        }
    }
    let attached = iam.list_attached_policies(role).await?;
    Ok(Some((ActualRole { details, inline, attached }, revocations)))
}

/// Applies one step: tables through `upstreams`, IAM through `iam` (the
/// home account's, or a pool account's).
async fn apply(upstreams: &Upstreams, iam: &dyn Iam, step: &Step) -> Result<(), UpstreamError> {
    match step {
        Step::CreateLedger => upstreams.ledger.create().await,
        Step::DeleteLedger => upstreams.ledger.delete().await,
        Step::CreatePool => upstreams.pool.create().await,
        Step::DeletePool => upstreams.pool.delete().await,
        Step::CreateRole(d) => iam
            .create_role(
                &d.role_name,
                &d.trust_policy,
                d.max_session_seconds,
                &d.tags,
                d.permissions_boundary_arn.as_deref(),
            )
            .await
            .map(drop),
        Step::UpdateTrust { role, document } => iam.update_trust_policy(role, document).await,
        Step::UpdateMaxSession { role, seconds } => iam.update_max_session(role, *seconds).await,
        Step::TagRole { role, tags } => iam.tag_role(role, tags).await,
        Step::SetBoundary { role, arn } => iam.set_permissions_boundary(role, arn).await,
        Step::CreateBoundary { name, document } => iam.create_managed_policy(BOUNDARY_PATH, name, document).await,
        Step::DeleteBoundary { arn } => iam.delete_managed_policy(arn).await,
        Step::PutInline { role, name, document } => iam.put_inline_policy(role, name, document).await,
        Step::DeleteInline { role, name } => iam.delete_inline_policy(role, name).await,
        Step::Attach { role, arn } => iam.attach_policy(role, arn).await,
        Step::Detach { role, arn } => iam.detach_policy(role, arn).await,
        Step::DeleteRole { role } => iam.delete_role(role).await,
    }
}

impl Provisioner {
    /// The provisioning service over the shared context.
    pub fn new(ctx: Arc<Context>) -> Self {
        let pool_roles = ctx
            .settings
            .profiles
            .iter()
            .filter(|(_, p)| p.isolation == crate::config::Isolation::Account)
            .map(|(name, p)| p.role_name(name))
            .collect();
        Self { ctx, one_at_a_time: tokio::sync::Mutex::new(()), pool_roles }
    }

    fn desired(&self, identity: &CallerIdentity, only: Option<&str>) -> Result<Vec<DesiredRole>, ApiError> {
        let all = desired_roles(&self.ctx.settings, identity).map_err(|m| {
            let code = if m.contains("root credentials") { "root_principal_refused" } else { "invalid_policy" };
            ApiError::invalid(code, m)
        })?;
        Ok(all.into_iter().filter(|d| only.is_none_or(|n| n == d.profile)).collect())
    }

    /// Runs `items`' writes in order (unless `dry_run`); on failure reports
    /// the changes completed so far.
    async fn execute(&self, items: Vec<Item>, dry_run: bool, done: &mut Vec<Change>) -> Result<(), ProvisionError> {
        self.execute_in(self.ctx.upstreams.iam.as_ref(), items, dry_run, done).await
    }

    /// [`Provisioner::execute`] with IAM calls through `iam`.
    async fn execute_in(
        &self,
        iam: &dyn Iam,
        items: Vec<Item>,
        dry_run: bool,
        done: &mut Vec<Change>,
    ) -> Result<(), ProvisionError> {
        for Item { change, step } in items {
            if let (Some(step), false) = (&step, dry_run)
                && let Err(err) = apply(&self.ctx.upstreams, iam, step).await
            {
                // NoSuchEntity on a write: the role went away after it was
                // read, so someone else is changing it at the same time.
                let source = match err.kind {
                    UpstreamErrorKind::NotFound => ApiError::ConcurrentChange(change.resource),
                    _ => err.into(),
                };
                return Err(ProvisionError { source, completed: std::mem::take(done) });
            }
            done.push(change);
        }
        Ok(())
    }

    /// Converges every profile (or `only` one) to the configuration.
    pub async fn bootstrap(&self, dry_run: bool, only: Option<&str>) -> Result<BootstrapReport, ProvisionError> {
        // Checked before any AWS call: bad input changes nothing.
        if let Some(name) = only.filter(|name| !self.ctx.settings.profiles.contains_key(*name)) {
            return Err(ApiError::UnknownProfile(name.to_owned()).into());
        }
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let identity = self.ctx.identity().await?;
        let desired = self.desired(&identity, only)?;
        let mut changes = Vec::new();
        for want in &desired {
            changes = self.converge_role(self.ctx.upstreams.iam.as_ref(), want, dry_run, changes).await?;
            self.ctx.forget_role(&want.role_name).await;
        }
        if only.is_none() {
            let mut items = self.plan_ledger().await?;
            items.extend(self.plan_pool().await?);
            self.execute(items, dry_run, &mut changes).await?;
        }
        let all = self.desired(&identity, None)?;
        Ok(report(dry_run, changes, &all, &identity, self.tables()))
    }

    /// Converges one role (and its generated boundary) through `iam`,
    /// adding what it did to `changes`.
    async fn converge_role(
        &self,
        iam: &dyn Iam,
        want: &DesiredRole,
        dry_run: bool,
        mut changes: Vec<Change>,
    ) -> Result<Vec<Change>, ProvisionError> {
        let have = actual_role(iam, &want.role_name).await?;
        if let Some((have, _)) = &have
            && !is_managed(&have.details)
        {
            return Err(ProvisionError {
                source: ApiError::RoleNotManaged(want.role_name.clone()),
                completed: changes,
            });
        }
        let (actual, revocations) = have.map_or((None, Vec::new()), |(h, r)| (Some(h), r));
        let boundary = match &want.boundary {
            Some(b) => iam.managed_policy(&b.arn).await?,
            None => None,
        };
        let mut items = plan_boundary(want, boundary.as_ref());
        items.extend(plan_role(want, actual.as_ref(), &revocations));
        self.execute_in(iam, items, dry_run, &mut changes).await?;
        Ok(changes)
    }

    /// The desired state as a CloudFormation template; reads the broker's
    /// identity (account, partition, trust principal) and nothing else.
    pub async fn cloudformation(&self) -> Result<Value, ApiError> {
        let identity = self.ctx.identity().await?;
        let desired = self.desired(&identity, None)?;
        let tables = self.tables();
        let (broker, provisioner) =
            (broker_policy(&desired, &identity, tables), provisioner_policy(&desired, &identity, tables));
        template::cloudformation(&desired, tables, broker, provisioner).map_err(ApiError::Internal)
    }

    /// The generated boundary as IAM holds it, if the profile has one.
    async fn boundary_policy(&self, want: &DesiredRole) -> Result<Option<crate::aws::ManagedPolicy>, UpstreamError> {
        match &want.boundary {
            Some(b) => self.ctx.upstreams.iam.managed_policy(&b.arn).await,
            None => Ok(None),
        }
    }

    /// Deletes the profiles' roles that carry the managed-by tag (any other
    /// role is reported and left alone, whatever its name) and the ledger.
    /// Refused, changing nothing, while sessions are not cleaned, unless
    /// `force`: their records are what cleanup works from.
    pub async fn teardown(&self, dry_run: bool, force: bool) -> Result<BootstrapReport, ProvisionError> {
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let identity = self.ctx.identity().await?;
        self.refuse_uncleaned(force).await?;
        self.refuse_accounts(force).await?;
        let desired = self.desired(&identity, None)?;
        let mut changes = Vec::new();
        for want in &desired {
            let role = &want.role_name;
            match actual_role(self.ctx.upstreams.iam.as_ref(), role).await? {
                None => changes.push(Change {
                    resource: format!("role/{role}"),
                    action: Action::Unchanged,
                    detail: "absent".into(),
                }),
                Some((have, _)) if !is_managed(&have.details) => changes.push(Change {
                    resource: format!("role/{role}"),
                    action: Action::Unchanged,
                    detail: "not tagged managed-by=sandbox-broker; left alone".into(),
                }),
                Some((have, revocations)) => {
                    self.execute(plan_teardown(role, &have, &revocations), dry_run, &mut changes).await?;
                    self.ctx.forget_role(role).await;
                }
            }
            // A boundary created by a run that stopped before the role used it.
            if let Some(b) = &want.boundary
                && !changes.iter().any(|c| c.resource.ends_with(&b.name))
                && self.boundary_policy(want).await?.is_some()
            {
                let step = Step::DeleteBoundary { arn: b.arn.clone() };
                let change = Change {
                    resource: format!("policy{BOUNDARY_PATH}{}", b.name),
                    action: Action::Delete,
                    detail: "unused permissions boundary".into(),
                };
                self.execute(vec![Item { change, step: Some(step) }], dry_run, &mut changes).await?;
            }
        }
        let mut items = self.plan_ledger_teardown().await?;
        items.extend(self.plan_pool_teardown().await?);
        self.execute(items, dry_run, &mut changes).await?;
        Ok(report(dry_run, changes, &desired, &identity, self.tables()))
    }
}

fn report(
    dry_run: bool,
    changes: Vec<Change>,
    desired: &[DesiredRole],
    identity: &CallerIdentity,
    tables: Tables<'_>,
) -> BootstrapReport {
    BootstrapReport {
        dry_run,
        changes,
        broker_principal_arn: identity.arn.clone(),
        broker_policy_parts: policy_parts::managed_policy_parts(&broker_policy(desired, identity, tables)),
        broker_policy: broker_policy(desired, identity, tables),
        provisioner_policy: provisioner_policy(desired, identity, tables),
    }
}
