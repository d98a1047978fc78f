//! The one fake of STS and IAM (query protocol, real XML) and of the
//! ledger's DynamoDB writes (JSON protocol) shared by the benchmark
//! (`examples/fake_upstream.rs`) and the fault-injection tests
//! (`tests/api/upstream_errors.rs`): GetCallerIdentity, GetRole,
//! ListRolePolicies, AssumeRole and UpdateItem answer like AWS; AssumeRole,
//! PutRolePolicy and UpdateItem can be made to fail with a given status and
//! error code.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// How the fake behaves; counters are shared with whoever holds a clone.
#[derive(Clone, Default)]
pub(crate) struct FakeAws {
    /// Added to every call. Zero means no timer at all: tokio's timer wheel
    /// rounds deadlines up to the next millisecond.
    pub(crate) delay: Duration,
    /// (HTTP status, AWS error code) AssumeRole fails with; `None` = success.
    pub(crate) assume_role_error: Option<(u16, &'static str)>,
    /// Added to AssumeRole only (a slow STS).
    pub(crate) assume_role_delay: Duration,
    /// What PutRolePolicy fails with; `None` = success.
    pub(crate) put_policy_error: Option<(u16, &'static str)>,
    /// The ARN GetCallerIdentity reports; an IAM user when empty.
    pub(crate) caller_arn: &'static str,
    /// The roles' MaxSessionDuration.
    pub(crate) max_session_seconds: u32,
    /// AssumeRole calls so far.
    pub(crate) assume_role_calls: Arc<AtomicUsize>,
    /// PutRolePolicy calls so far.
    pub(crate) put_policy_calls: Arc<AtomicUsize>,
    /// What the ledger's UpdateItem fails with; `None` = success.
    pub(crate) ledger_error: Option<(u16, &'static str)>,
    /// Ledger writes (UpdateItem) so far.
    pub(crate) ledger_writes: Arc<AtomicUsize>,
}

static ISSUED: AtomicU64 = AtomicU64::new(0);

impl FakeAws {
    /// The query-protocol endpoint at `/`.
    pub(crate) fn router(self) -> Router {
        Router::new().route("/", axum::routing::post(answer)).with_state(self)
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn ok(action: &str, ns: &str, result: &str) -> Response {
    xml(
        StatusCode::OK,
        format!(
            "<{action}Response xmlns=\"{ns}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></{action}Response>"
        ),
    )
}

fn error(ns: &str, (status, code): (u16, &str)) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>injected {code}</Message></Error><RequestId>fake</RequestId></ErrorResponse>"
    );
    xml(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), body)
}

fn iso8601(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    aws_smithy_types::DateTime::from_secs(i64::try_from(secs).unwrap_or(0))
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// DynamoDB's JSON protocol: the operation is named by `X-Amz-Target`.
fn dynamodb(fake: &FakeAws, operation: &str) -> Response {
    let json = |status: StatusCode, body: String| {
        (status, [(header::CONTENT_TYPE, "application/x-amz-json-1.0")], body).into_response()
    };
    let failure = |(status, code): (u16, &str)| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        json(status, format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected {code}"}}"#))
    };
    match operation {
        "UpdateItem" => {
            fake.ledger_writes.fetch_add(1, Ordering::SeqCst);
            match fake.ledger_error {
                Some(f) => failure(f),
                None => json(StatusCode::OK, r#"{"Attributes":{}}"#.into()),
            }
        }
        "GetItem" => json(StatusCode::OK, "{}".into()),
        _ => failure((400, "ResourceNotFoundException")),
    }
}

async fn answer(State(fake): State<FakeAws>, headers: axum::http::HeaderMap, body: String) -> Response {
    if !fake.delay.is_zero() {
        tokio::time::sleep(fake.delay).await;
    }
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(operation) = target.strip_prefix("DynamoDB_20120810.") {
        return dynamodb(&fake, operation);
    }
    let params: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    match get("Action").as_str() {
        "GetCallerIdentity" => {
            let arn =
                if fake.caller_arn.is_empty() { "arn:aws:iam::123456789012:user/broker" } else { fake.caller_arn };
            ok(
                "GetCallerIdentity",
                STS_NS,
                &format!("<Arn>{arn}</Arn><UserId>AIDAFAKE</UserId><Account>123456789012</Account>"),
            )
        }
        "GetRole" => {
            let name = get("RoleName");
            let max = if fake.max_session_seconds == 0 { 43_200 } else { fake.max_session_seconds };
            ok(
                "GetRole",
                IAM_NS,
                &format!(
                    "<Role><Path>/</Path><RoleName>{name}</RoleName><RoleId>AROAFAKEROLE00000001</RoleId>\
                     <Arn>arn:aws:iam::123456789012:role/{name}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate>\
                     <MaxSessionDuration>{max}</MaxSessionDuration></Role>"
                ),
            )
        }
        "ListRolePolicies" => ok("ListRolePolicies", IAM_NS, "<IsTruncated>false</IsTruncated><PolicyNames/>"),
        "PutRolePolicy" => {
            fake.put_policy_calls.fetch_add(1, Ordering::SeqCst);
            match fake.put_policy_error {
                Some(failure) => error(IAM_NS, failure),
                None => ok("PutRolePolicy", IAM_NS, ""),
            }
        }
        "AssumeRole" => {
            fake.assume_role_calls.fetch_add(1, Ordering::SeqCst);
            if !fake.assume_role_delay.is_zero() {
                tokio::time::sleep(fake.assume_role_delay).await;
            }
            match fake.assume_role_error {
                Some(failure) => error(STS_NS, failure),
                None => assumed_role(&get("RoleArn"), &get("RoleSessionName"), &get("DurationSeconds")),
            }
        }
        other => (StatusCode::BAD_REQUEST, format!("unsupported action {other}")).into_response(),
    }
}

fn assumed_role(role_arn: &str, session: &str, duration: &str) -> Response {
    let n = ISSUED.fetch_add(1, Ordering::Relaxed);
    let seconds: u64 = duration.parse().unwrap_or(3600);
    let expiration = iso8601(SystemTime::now() + Duration::from_secs(seconds));
    let role_name = role_arn.rsplit('/').next().unwrap_or("role");
    ok(
        "AssumeRole",
        STS_NS,
        &format!(
            "<Credentials><AccessKeyId>ASIAFAKE{n:012}</AccessKeyId><SecretAccessKey>fakesecret{n:030}</SecretAccessKey>\
             <SessionToken>FQoGZXIvYXdzEFake{n:040}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROAFAKEROLE00000001:{session}</AssumedRoleId>\
             <Arn>arn:aws:sts::123456789012:assumed-role/{role_name}/{session}</Arn></AssumedRoleUser>\
             <PackedPolicySize>6</PackedPolicySize>"
        ),
    )
}
