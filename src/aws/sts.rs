//! STS through the AWS SDK.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_sts::types::{PolicyDescriptorType, Tag};
use secrecy::SecretString;

use super::{
    AssumeRoleInput, CallerIdentity, IssuedCredentials, Sts, TemporaryCredentials, UpstreamError, UpstreamErrorKind,
    sdk_call,
};
use crate::domain::Partition;

const SERVICE: &str = "sts";

/// STS through the AWS SDK.
pub struct SdkSts {
    client: aws_sdk_sts::Client,
}

impl SdkSts {
    /// Wraps an SDK client.
    pub fn new(client: aws_sdk_sts::Client) -> Self {
        Self { client }
    }
}

/// `PolicyArns`, or nothing when there are none (an empty list is not sent).
fn policy_arns(arns: &[String]) -> Option<Vec<PolicyDescriptorType>> {
    (!arns.is_empty()).then(|| arns.iter().map(|arn| PolicyDescriptorType::builder().arn(arn).build()).collect())
}

fn malformed(operation: &'static str, what: &str) -> UpstreamError {
    UpstreamError::new(SERVICE, operation, UpstreamErrorKind::Other, format!("response lacks {what}"))
}

#[async_trait]
impl Sts for SdkSts {
    async fn caller_identity(&self) -> Result<CallerIdentity, UpstreamError> {
        const OP: &str = "GetCallerIdentity";
        let out = sdk_call(SERVICE, OP, self.client.get_caller_identity().send()).await?;
        let arn = out.arn().ok_or_else(|| malformed(OP, "Arn"))?.to_owned();
        let account = out.account().ok_or_else(|| malformed(OP, "Account"))?.to_owned();
        let partition = Partition::from_arn(&arn).ok_or_else(|| malformed(OP, "a known partition"))?;
        Ok(CallerIdentity { account, arn, partition })
    }

    async fn assume_role(&self, input: &AssumeRoleInput) -> Result<IssuedCredentials, UpstreamError> {
        const OP: &str = "AssumeRole";
        let tags = input
            .tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| UpstreamError::new(SERVICE, OP, UpstreamErrorKind::Other, e.to_string()))?;
        let request = self
            .client
            .assume_role()
            .role_arn(&input.role_arn)
            .role_session_name(input.session_name.as_str())
            .source_identity(input.session_name.as_str())
            .duration_seconds(i32::try_from(input.duration.seconds()).unwrap_or(i32::MAX))
            .set_tags(Some(tags))
            .set_policy(input.narrowing.policy.clone())
            .set_policy_arns(policy_arns(&input.narrowing.policy_arns));
        let out = sdk_call(SERVICE, OP, request.send()).await?;
        let creds = out.credentials().ok_or_else(|| malformed(OP, "Credentials"))?;
        let expiration = SystemTime::try_from(*creds.expiration()).map_err(|_| malformed(OP, "a valid Expiration"))?;
        let assumed_role_arn =
            out.assumed_role_user().map(|u| u.arn().to_owned()).ok_or_else(|| malformed(OP, "AssumedRoleUser"))?;
        Ok(IssuedCredentials {
            credentials: TemporaryCredentials {
                access_key_id: creds.access_key_id().to_owned(),
                secret_access_key: SecretString::from(creds.secret_access_key()),
                session_token: SecretString::from(creds.session_token()),
                expiration,
            },
            assumed_role_arn,
        })
    }
}

#[cfg(test)]
mod tests {
    //! Request shapes moto ignores (Tags, SourceIdentity, DurationSeconds),
    //! checked on the SDK request itself.
    use super::*;
    use crate::domain::{RoleSessionName, SessionDuration, SessionId, SessionNarrowing};
    use aws_sdk_sts::Client;
    use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
    use aws_sdk_sts::types::{AssumedRoleUser, Credentials};
    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_types::DateTime;

    fn output() -> AssumeRoleOutput {
        AssumeRoleOutput::builder()
            .credentials(
                Credentials::builder()
                    .access_key_id("ASIAEXAMPLE")
                    .secret_access_key("secret")
                    .session_token("token")
                    .expiration(DateTime::from_secs(2_000_000_000))
                    .build()
                    .unwrap(),
            )
            .assumed_role_user(
                AssumedRoleUser::builder()
                    .assumed_role_id("AROA:learner")
                    .arn("arn:aws:sts::123456789012:assumed-role/sandbox-s3/learner")
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[tokio::test]
    async fn assume_role_sends_source_identity_tags_duration_and_session_policies() {
        const NARROW: &str =
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let rule = mock!(Client::assume_role)
            .match_requests(|req| {
                let tags: Vec<(&str, &str)> = req.tags().iter().map(|t| (t.key(), t.value())).collect();
                req.role_arn() == Some("arn:aws:iam::123456789012:role/sandbox-s3")
                    && req.role_session_name() == Some("learner-1")
                    && req.source_identity() == Some("learner-1")
                    && req.duration_seconds() == Some(1800)
                    && tags == [("sandbox-session", "learner-1"), ("sandbox-profile", "s3")]
                    && req.policy() == Some(NARROW)
                    && req.policy_arns().iter().filter_map(|p| p.arn()).eq(["arn:aws:iam::aws:policy/ReadOnlyAccess"])
            })
            .then_output(output);
        let sts = SdkSts::new(mock_client!(aws_sdk_sts, [&rule]));
        let input = AssumeRoleInput {
            role_arn: "arn:aws:iam::123456789012:role/sandbox-s3".into(),
            session_name: RoleSessionName::for_session(&SessionId::parse("learner-1").unwrap()),
            duration: SessionDuration::clamp(1800, 43_200, 43_200, false),
            tags: vec![("sandbox-session".into(), "learner-1".into()), ("sandbox-profile".into(), "s3".into())],
            narrowing: SessionNarrowing {
                policy: Some(NARROW.into()),
                policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            },
        };
        let issued = sts.assume_role(&input).await.unwrap();
        assert_eq!(rule.num_calls(), 1);
        assert_eq!(issued.credentials.access_key_id, "ASIAEXAMPLE");
        assert_eq!(issued.assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/sandbox-s3/learner");
    }

    #[tokio::test]
    async fn throttling_is_classified() {
        use aws_sdk_sts::operation::assume_role::AssumeRoleError;
        use aws_smithy_types::error::ErrorMetadata;
        let rule = mock!(Client::assume_role).then_error(|| {
            AssumeRoleError::generic(ErrorMetadata::builder().code("Throttling").message("Rate exceeded").build())
        });
        let sts = SdkSts::new(mock_client!(aws_sdk_sts, [&rule]));
        let input = AssumeRoleInput {
            role_arn: "arn:aws:iam::1:role/r".into(),
            session_name: RoleSessionName::for_session(&SessionId::parse("ab").unwrap()),
            duration: SessionDuration::clamp(900, 900, 900, false),
            tags: vec![],
            narrowing: Default::default(),
        };
        let err = sts.assume_role(&input).await.unwrap_err();
        assert_eq!(err.kind, UpstreamErrorKind::Throttled);
    }
}
