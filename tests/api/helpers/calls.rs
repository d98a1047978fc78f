//! Records every upstream call the broker makes, then forwards it.

use std::sync::Arc;

use async_trait::async_trait;
use sandbox_broker::aws::{
    AssumeRoleInput, CallerIdentity, Federation, Iam, IssuedCredentials, ManagedPolicy, RoleDetails, RoleInfo, Sts,
    TemporaryCredentials, UpstreamError, Upstreams,
};
use sandbox_reset::clients::{Backend, Tagged};
use sandbox_reset::registry::{Deleted, Registration, Resource, Where};
use secrecy::SecretString;

/// Something to run once, just before a given upstream call is forwarded.
type Hook = Box<dyn FnOnce() -> futures_util::future::BoxFuture<'static, ()> + Send>;

/// Records every upstream call the broker makes, then forwards it.
#[derive(Default)]
pub struct CallCounter {
    calls: std::sync::Mutex<Vec<&'static str>>,
    before: std::sync::Mutex<Option<(&'static str, Hook)>>,
}

impl CallCounter {
    pub fn get(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
    /// Names of the calls so far, e.g. `iam.put_inline_policy`.
    pub fn names(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
    pub fn reset(&self) {
        self.calls.lock().unwrap().clear();
    }
    /// Runs `hook` once, right before the next call named `name` (e.g. to
    /// play another replica changing IAM between the broker's read and write).
    pub fn before_next(&self, name: &'static str, hook: Hook) {
        *self.before.lock().unwrap() = Some((name, hook));
    }
    async fn hit(&self, name: &'static str) {
        self.calls.lock().unwrap().push(name);
        let hook = {
            let mut before = self.before.lock().unwrap();
            if before.as_ref().is_some_and(|(n, _)| *n == name) { before.take().map(|(_, h)| h) } else { None }
        };
        if let Some(hook) = hook {
            hook().await;
        }
    }
}

struct Counted<T: ?Sized> {
    inner: Arc<T>,
    counter: Arc<CallCounter>,
}

/// Implements a trait for `Counted<dyn Trait>` by recording and forwarding.
macro_rules! counted_impl {
    ($trait:ident, $prefix:literal, $( fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty; )*) => {
        #[async_trait]
        impl $trait for Counted<dyn $trait> {
            $( async fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.counter.hit(concat!($prefix, ".", stringify!($name))).await;
                self.inner.$name($($arg),*).await
            } )*
        }
    };
}

counted_impl! {
    Sts, "sts",
    fn caller_identity(&self) -> Result<CallerIdentity, UpstreamError>;
    fn assume_role(&self, input: &AssumeRoleInput) -> Result<IssuedCredentials, UpstreamError>;
}

counted_impl! {
    Federation, "federation",
    fn signin_token(
        &self,
        endpoint: &str,
        credentials: &TemporaryCredentials,
        session_duration: Option<u32>,
    ) -> Result<SecretString, UpstreamError>;
}

counted_impl! {
    Iam, "iam",
    fn get_role(&self, role_name: &str) -> Result<Option<RoleInfo>, UpstreamError>;
    fn role_details(&self, role_name: &str) -> Result<Option<RoleDetails>, UpstreamError>;
    fn create_role(
        &self,
        role_name: &str,
        trust_policy: &str,
        max_session_seconds: u32,
        tags: &[(String, String)],
        permissions_boundary_arn: Option<&str>,
    ) -> Result<RoleInfo, UpstreamError>;
    fn update_trust_policy(&self, role_name: &str, document: &str) -> Result<(), UpstreamError>;
    fn update_max_session(&self, role_name: &str, seconds: u32) -> Result<(), UpstreamError>;
    fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), UpstreamError>;
    fn set_permissions_boundary(&self, role_name: &str, arn: &str) -> Result<(), UpstreamError>;
    fn list_inline_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError>;
    fn get_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<Option<String>, UpstreamError>;
    fn put_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), UpstreamError>;
    fn delete_inline_policy(&self, role_name: &str, policy_name: &str)
    -> Result<(), UpstreamError>;
    fn list_attached_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError>;
    fn attach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError>;
    fn detach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError>;
    fn delete_role(&self, role_name: &str) -> Result<(), UpstreamError>;
    fn managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicy>, UpstreamError>;
    fn create_managed_policy(&self, path: &str, name: &str, document: &str) -> Result<(), UpstreamError>;
    fn delete_managed_policy(&self, arn: &str) -> Result<(), UpstreamError>;
}

counted_impl! {
    Backend, "resources",
    fn tagged(&self, region: &str, filter: Option<(&str, &str)>) -> Result<Tagged, UpstreamError>;
    fn list(&self, kind: &'static Registration, at: &Where) -> Result<Vec<Resource>, UpstreamError>;
    fn delete(&self, kind: &'static Registration, resource: &Resource) -> Result<Deleted, UpstreamError>;
    fn gone(&self, kind: &'static Registration, resource: &Resource) -> Result<bool, UpstreamError>;
    fn restore_baseline(&self, at: &Where) -> Result<Vec<String>, UpstreamError>;
}

pub fn counted(upstreams: Upstreams, counter: &Arc<CallCounter>) -> Upstreams {
    Upstreams {
        sts: Arc::new(Counted { inner: upstreams.sts, counter: counter.clone() }),
        iam: Arc::new(Counted { inner: upstreams.iam, counter: counter.clone() }),
        federation: Arc::new(Counted { inner: upstreams.federation, counter: counter.clone() }),
        ledger: upstreams.ledger,
        resources: Arc::new(Counted { inner: upstreams.resources, counter: counter.clone() }),
        pool: upstreams.pool,
        members: upstreams.members,
    }
}
