//! A fast fake AWS for benchmarks only: STS (GetCallerIdentity,
//! AssumeRole), the IAM reads of the session path (GetRole,
//! ListRolePolicies) and the console federation endpoint
//! (getSigninToken), with valid responses and an optional injected delay,
//! so the broker's own cost is visible.
//!
//! `cargo run --release --example fake_upstream -- PORT [DELAY_MS]`

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};

#[derive(Clone)]
struct Fake {
    delay: Duration,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Fake {
    /// The injected delay. Zero means no timer at all: tokio's timer wheel
    /// rounds deadlines up to the next millisecond, so `sleep(ZERO)` would
    /// add up to 1 ms to every call.
    async fn wait(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn iso8601(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

async fn aws(State(fake): State<Fake>, body: String) -> Response {
    fake.wait().await;
    let params: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    match get("Action").as_str() {
        "GetCallerIdentity" => xml(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::123456789012:user/broker</Arn><UserId>AIDABENCH</UserId><Account>123456789012</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>b</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
                .to_owned(),
        ),
        "GetRole" => {
            let name = get("RoleName");
            xml(format!(
                "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetRoleResult><Role><Path>/</Path>\
                 <RoleName>{name}</RoleName><RoleId>AROABENCHROLE0000001</RoleId><Arn>arn:aws:iam::123456789012:role/{name}</Arn>\
                 <CreateDate>2026-01-01T00:00:00Z</CreateDate><MaxSessionDuration>43200</MaxSessionDuration></Role></GetRoleResult>\
                 <ResponseMetadata><RequestId>b</RequestId></ResponseMetadata></GetRoleResponse>"
            ))
        }
        "ListRolePolicies" => xml(
            "<ListRolePoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListRolePoliciesResult>\
             <IsTruncated>false</IsTruncated><PolicyNames/></ListRolePoliciesResult>\
             <ResponseMetadata><RequestId>b</RequestId></ResponseMetadata></ListRolePoliciesResponse>"
                .to_owned(),
        ),
        "AssumeRole" => {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let seconds: u64 = get("DurationSeconds").parse().unwrap_or(3600);
            let expiration = iso8601(SystemTime::now() + Duration::from_secs(seconds));
            let (role, session) = (get("RoleArn"), get("RoleSessionName"));
            let role_name = role.rsplit('/').next().unwrap_or("role");
            xml(format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
                 <Credentials><AccessKeyId>ASIABENCH{n:011}</AccessKeyId><SecretAccessKey>benchsecret{n:029}</SecretAccessKey>\
                 <SessionToken>FQoGZXIvYXdzEBench{n:040}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROABENCHROLE0000001:{session}</AssumedRoleId>\
                 <Arn>arn:aws:sts::123456789012:assumed-role/{role_name}/{session}</Arn></AssumedRoleUser>\
                 <PackedPolicySize>6</PackedPolicySize></AssumeRoleResult>\
                 <ResponseMetadata><RequestId>b</RequestId></ResponseMetadata></AssumeRoleResponse>"
            ))
        }
        other => (axum::http::StatusCode::BAD_REQUEST, format!("unsupported action {other}")).into_response(),
    }
}

async fn federation(State(fake): State<Fake>, RawQuery(_query): RawQuery, _body: String) -> Response {
    fake.wait().await;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "application/json")], format!("{{\"SigninToken\":\"bench-signin-token-{n:020}\"}}"))
        .into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(5100);
    let delay = Duration::from_millis(args.next().and_then(|d| d.parse().ok()).unwrap_or(0));
    let app = Router::new().route("/", post(aws)).route("/federation", any(federation)).with_state(Fake { delay });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("fake upstream on 127.0.0.1:{port}, delay {delay:?}");
    axum::serve(listener, app).await
}
