//! The upstream work of one session, shared by the benchmark programs so
//! that each does exactly what the broker does upstream: AssumeRole with
//! the broker's three session tags and SourceIdentity, then getSigninToken.

use sandbox_broker::aws::Upstreams;
use sandbox_broker::aws::{AssumeRoleInput, IssuedCredentials};
use sandbox_broker::domain::{RoleSessionName, SessionDuration, SessionId, session_tags};
use secrecy::SecretString;

pub(crate) const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/sandbox-s3";

pub(crate) async fn one_session(
    upstreams: &Upstreams,
    federation_endpoint: &str,
    session_id: &str,
) -> anyhow::Result<(IssuedCredentials, SecretString)> {
    let id = SessionId::parse(session_id).map_err(anyhow::Error::msg)?;
    let session_name = RoleSessionName::for_session(&id);
    let input = AssumeRoleInput {
        role_arn: ROLE_ARN.to_owned(),
        tags: session_tags(&id, &session_name, "s3"),
        session_name,
        duration: SessionDuration::clamp(3600, 43_200, 43_200, false),
        narrowing: Default::default(),
    };
    let issued = upstreams.sts.assume_role(&input).await?;
    let token = upstreams.federation.signin_token(federation_endpoint, &issued.credentials, Some(3600)).await?;
    Ok((issued, token))
}
