//! The pool's member accounts: AWS Organizations (who is a member, who
//! manages the organization, creating accounts) and the clients the broker
//! uses inside one account, reached by assuming `pool.access_role_name`
//! there. The broker's own credentials never act in a member account.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_organizations::types::{AccountStatus, CreateAccountState};
use sandbox_reset::clients::{Backend, SdkBackend};
use secrecy::ExposeSecret;

use super::iam::SdkIam;
use super::{AssumeRoleInput, Iam, Sts, UpstreamError, UpstreamErrorKind, absent_as_none, sdk_call};
use crate::domain::{RoleSessionName, SessionDuration, SessionId, SessionNarrowing};

const SERVICE: &str = "organizations";
/// How often and how long account creation is polled (AWS: usually minutes).
const CREATE_POLL: Duration = Duration::from_secs(5);
const CREATE_POLLS: u32 = 120;

/// What the broker can do in one member account.
#[derive(Clone)]
pub struct MemberClients {
    /// The account's id.
    pub account_id: String,
    /// IAM in the account (the profiles' roles, revocation).
    pub iam: Arc<dyn Iam>,
    /// Every resource type of the registry, in the account.
    pub resources: Arc<dyn Backend>,
}

/// Organizations and access to member accounts.
#[async_trait]
pub trait Members: Send + Sync {
    /// The organization's management account.
    async fn management_account(&self) -> Result<String, UpstreamError>;
    /// Whether the account is an active member of the organization.
    async fn is_member(&self, account_id: &str) -> Result<bool, UpstreamError>;
    /// CreateAccount, polled with DescribeCreateAccountStatus until done;
    /// moved into `ou` when given. The new account's id.
    async fn create_account(&self, email: &str, name: &str, ou: Option<&str>) -> Result<String, UpstreamError>;
    /// Assumes `role_name` in the account: its clients.
    async fn open(&self, account_id: &str, role_name: &str, partition: &str) -> Result<MemberClients, UpstreamError>;
}

/// Organizations and member access through the AWS SDK.
pub struct SdkMembers {
    organizations: aws_sdk_organizations::Client,
    sts: Arc<dyn Sts>,
    /// The broker's SDK configuration (timeouts, retries, region), whose
    /// credentials are replaced by each account's.
    base: SdkConfig,
    endpoint: Option<String>,
}

impl SdkMembers {
    /// Over the broker's configuration and STS client.
    pub fn new(base: SdkConfig, endpoint: Option<String>, sts: Arc<dyn Sts>) -> Self {
        let mut organizations = aws_sdk_organizations::config::Builder::from(&base);
        organizations.set_endpoint_url(endpoint.clone());
        Self { organizations: aws_sdk_organizations::Client::from_conf(organizations.build()), sts, base, endpoint }
    }

    async fn move_into(&self, account_id: &str, ou: &str) -> Result<(), UpstreamError> {
        let parents =
            sdk_call(SERVICE, "ListParents", self.organizations.list_parents().child_id(account_id).send()).await?;
        let Some(parent) = parents.parents().first().and_then(|p| p.id()) else {
            return Err(UpstreamError::new(SERVICE, "ListParents", UpstreamErrorKind::Other, "no parent"));
        };
        if parent == ou {
            return Ok(());
        }
        let request =
            self.organizations.move_account().account_id(account_id).source_parent_id(parent).destination_parent_id(ou);
        sdk_call(SERVICE, "MoveAccount", request.send()).await.map(drop)
    }
}

fn failed(operation: &'static str, message: impl Into<String>) -> UpstreamError {
    UpstreamError::new(SERVICE, operation, UpstreamErrorKind::Other, message)
}

#[async_trait]
impl Members for SdkMembers {
    async fn management_account(&self) -> Result<String, UpstreamError> {
        const OP: &str = "DescribeOrganization";
        let out = sdk_call(SERVICE, OP, self.organizations.describe_organization().send()).await?;
        out.organization()
            .and_then(|o| o.master_account_id())
            .map(str::to_owned)
            .ok_or_else(|| failed(OP, "no management account"))
    }

    async fn is_member(&self, account_id: &str) -> Result<bool, UpstreamError> {
        let request = self.organizations.describe_account().account_id(account_id);
        let out = absent_as_none(sdk_call(SERVICE, "DescribeAccount", request.send()).await.map(Some))?;
        Ok(out.flatten().and_then(|o| o.account).is_some_and(|a| a.status() == Some(&AccountStatus::Active)))
    }

    async fn create_account(&self, email: &str, name: &str, ou: Option<&str>) -> Result<String, UpstreamError> {
        let request = self.organizations.create_account().email(email).account_name(name);
        let out = sdk_call(SERVICE, "CreateAccount", request.send()).await?;
        let id =
            out.create_account_status().and_then(|s| s.id()).ok_or_else(|| failed("CreateAccount", "no request id"))?;
        for _ in 0..CREATE_POLLS {
            let poll = self.organizations.describe_create_account_status().create_account_request_id(id);
            let out = sdk_call(SERVICE, "DescribeCreateAccountStatus", poll.send()).await?;
            let status = out.create_account_status();
            match status.and_then(|s| s.state()) {
                Some(CreateAccountState::Succeeded) => {
                    let account = status
                        .and_then(|s| s.account_id())
                        .ok_or_else(|| failed("DescribeCreateAccountStatus", "succeeded without an account id"))?;
                    if let Some(ou) = ou {
                        self.move_into(account, ou).await?;
                    }
                    return Ok(account.to_owned());
                }
                Some(CreateAccountState::Failed) => {
                    let reason = status.and_then(|s| s.failure_reason()).map_or("unknown", |r| r.as_str());
                    return Err(failed("CreateAccount", format!("account creation failed: {reason}")));
                }
                _ => tokio::time::sleep(CREATE_POLL).await,
            }
        }
        Err(UpstreamError::new(SERVICE, "CreateAccount", UpstreamErrorKind::Timeout, "account creation still running"))
    }

    async fn open(&self, account_id: &str, role_name: &str, partition: &str) -> Result<MemberClients, UpstreamError> {
        let own = SessionId::parse("sandbox-broker-pool").map_err(|m| failed("AssumeRole", m))?;
        let input = AssumeRoleInput {
            role_arn: format!("arn:{partition}:iam::{account_id}:role/{role_name}"),
            session_name: RoleSessionName::for_session(&own),
            duration: SessionDuration::clamp(3_600, 3_600, 3_600, false),
            tags: Vec::new(),
            narrowing: SessionNarrowing::default(),
        };
        let issued = self.sts.assume_role(&input).await?;
        let c = issued.credentials;
        let credentials = Credentials::new(
            c.access_key_id,
            c.secret_access_key.expose_secret(),
            Some(c.session_token.expose_secret().to_owned()),
            Some(c.expiration),
            "sandbox-broker-pool",
        );
        let config = self.base.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build();
        let mut iam = aws_sdk_iam::config::Builder::from(&config);
        iam.set_endpoint_url(self.endpoint.clone());
        Ok(MemberClients {
            account_id: account_id.to_owned(),
            iam: Arc::new(SdkIam::new(aws_sdk_iam::Client::from_conf(iam.build()))),
            resources: Arc::new(SdkBackend::new(config, self.endpoint.clone())),
        })
    }
}
