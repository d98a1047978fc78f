//! IAM through the AWS SDK.

use async_trait::async_trait;

use super::{Iam, RoleInfo, UpstreamError, UpstreamErrorKind};

const SERVICE: &str = "iam";

pub struct SdkIam {
    client: aws_sdk_iam::Client,
}

impl SdkIam {
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Iam for SdkIam {
    async fn get_role(&self, role_name: &str) -> Result<Option<RoleInfo>, UpstreamError> {
        let out = match self.client.get_role().role_name(role_name).send().await {
            Ok(out) => out,
            Err(err) => {
                let err = UpstreamError::from_sdk(SERVICE, "GetRole", err);
                return if err.kind == UpstreamErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(role) = out.role() else {
            return Err(UpstreamError::new(
                SERVICE,
                "GetRole",
                UpstreamErrorKind::Other,
                "response lacks Role",
            ));
        };
        // IAM reports MaxSessionDuration for every role; 3600 is its default.
        let max = role
            .max_session_duration()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(3_600);
        Ok(Some(RoleInfo {
            arn: role.arn().to_owned(),
            role_id: role.role_id().to_owned(),
            max_session_seconds: max,
        }))
    }
}
