//! The AWS console federation endpoint (`/federation`): exchanges temporary
//! credentials for a sign-in token and builds the login URL.
//!
//! See "Enable custom identity broker access to the AWS console" in the IAM
//! user guide. A sign-in token is valid for 15 minutes after it is issued.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{Federation, TemporaryCredentials, UpstreamError, UpstreamErrorKind, observed};
use crate::domain::Destination;

const SERVICE: &str = "signin";
const OP: &str = "getSigninToken";

/// Largest federation response read; a SigninToken is about 1-3 KB, and
/// a broken or hostile endpoint must not make the broker buffer megabytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How long AWS honours a sign-in token.
pub const SIGNIN_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The real federation endpoint over HTTPS.
pub struct HttpFederation {
    client: reqwest::Client,
}

impl HttpFederation {
    /// Uses `client` (no redirects, call budget).
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

#[derive(Deserialize)]
struct SigninTokenResponse {
    #[serde(rename = "SigninToken")]
    signin_token: String,
}

/// The form fields of `Action=getSigninToken`. `SessionDuration` is only sent
/// when given: AWS rejects it for credentials obtained by role chaining.
pub fn signin_token_form(
    credentials: &TemporaryCredentials,
    session_duration: Option<u32>,
) -> Vec<(&'static str, SecretString)> {
    let session = serde_json::json!({
        "sessionId": credentials.access_key_id,
        "sessionKey": credentials.secret_access_key.expose_secret(),
        "sessionToken": credentials.session_token.expose_secret(),
    });
    let mut form = vec![("Action", SecretString::from("getSigninToken"))];
    if let Some(seconds) = session_duration {
        form.push(("SessionDuration", SecretString::from(seconds.to_string())));
    }
    form.push(("Session", SecretString::from(session.to_string())));
    form
}

fn transport_error(err: &reqwest::Error) -> UpstreamError {
    let kind = if err.is_timeout() { UpstreamErrorKind::Timeout } else { UpstreamErrorKind::Unavailable };
    // reqwest's Display may include the URL but never the form body.
    UpstreamError::new(SERVICE, OP, kind, if err.is_timeout() { "timed out" } else { "could not reach the endpoint" })
}

#[async_trait]
impl Federation for HttpFederation {
    async fn signin_token(
        &self,
        endpoint: &str,
        credentials: &TemporaryCredentials,
        session_duration: Option<u32>,
    ) -> Result<SecretString, UpstreamError> {
        observed(SERVICE, OP, self.request_token(endpoint, credentials, session_duration)).await
    }
}

impl HttpFederation {
    async fn request_token(
        &self,
        endpoint: &str,
        credentials: &TemporaryCredentials,
        session_duration: Option<u32>,
    ) -> Result<SecretString, UpstreamError> {
        let form = signin_token_form(credentials, session_duration);
        let exposed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.expose_secret())).collect();
        // A form POST keeps the credentials out of URLs and access logs.
        let response = self.client.post(endpoint).form(&exposed).send().await.map_err(|e| transport_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            let kind = match status.as_u16() {
                429 | 503 => UpstreamErrorKind::Throttled,
                401 | 403 => UpstreamErrorKind::AccessDenied,
                _ => UpstreamErrorKind::Other,
            };
            return Err(UpstreamError::new(SERVICE, OP, kind, format!("HTTP {status}")));
        }
        let body = read_capped(response).await?;
        let body: SigninTokenResponse = serde_json::from_slice(&body).map_err(|_| {
            UpstreamError::new(SERVICE, OP, UpstreamErrorKind::Other, "response is not a SigninToken document")
        })?;
        Ok(SecretString::from(body.signin_token))
    }
}

/// The response body, refused past [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
    let too_large = || UpstreamError::new(SERVICE, OP, UpstreamErrorKind::Other, "response is too large");
    if response.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Action=login` URL that signs the browser in and lands on `destination`.
pub fn login_url(
    endpoint: &str,
    issuer: &str,
    destination: &Destination,
    token: &SecretString,
) -> Result<SecretString, url::ParseError> {
    let mut url = Url::parse(endpoint)?;
    url.query_pairs_mut()
        .clear()
        .append_pair("Action", "login")
        .append_pair("Issuer", issuer)
        .append_pair("Destination", destination.as_str())
        .append_pair("SigninToken", token.expose_secret());
    Ok(SecretString::from(String::from(url)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn creds() -> TemporaryCredentials {
        TemporaryCredentials {
            access_key_id: "ASIA1".into(),
            secret_access_key: SecretString::from("sk"),
            session_token: SecretString::from("st"),
            expiration: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn session_duration_only_when_given() {
        let keys = |d| signin_token_form(&creds(), d).iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(keys(Some(3600)), ["Action", "SessionDuration", "Session"]);
        assert_eq!(keys(None), ["Action", "Session"]);
        let session = &signin_token_form(&creds(), None)[1].1;
        let parsed: serde_json::Value = serde_json::from_str(session.expose_secret()).unwrap();
        assert_eq!(parsed, serde_json::json!({"sessionId": "ASIA1", "sessionKey": "sk", "sessionToken": "st"}));
    }

    #[test]
    fn login_url_carries_issuer_destination_and_token() {
        let dest = Destination::parse("https://console.aws.amazon.com/s3/home?a=b&c=d", crate::domain::Partition::Aws)
            .unwrap();
        let url =
            login_url("https://signin.aws.amazon.com/federation", "My Platform", &dest, &SecretString::from("tok+en"))
                .unwrap();
        let parsed = Url::parse(url.expose_secret()).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("Action".into(), "login".into()));
        assert_eq!(pairs[1], ("Issuer".into(), "My Platform".into()));
        assert_eq!(pairs[2], ("Destination".into(), "https://console.aws.amazon.com/s3/home?a=b&c=d".into()));
        assert_eq!(pairs[3], ("SigninToken".into(), "tok+en".into()));
    }
}
