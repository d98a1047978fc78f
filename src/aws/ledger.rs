//! The session ledger (DESIGN §7): one record per session in DynamoDB,
//! written before any credential leaves the broker, never holding a secret.
//! Every write is conditional, so replicas never lose each other's updates;
//! the [`Ledger`] trait is what the services see, [`dynamo`] the real table.

pub mod dynamo;
mod record;
pub mod spend;

use async_trait::async_trait;

pub use record::{CleanupReport, ResourceOutcome, SessionRecord, SessionState, Timestamp};

use super::UpstreamError;
pub use super::dynamo_table::TableInfo;

/// What `POST /sessions` records: the session, or the profile added to it,
/// and the lease extended to the new credentials' expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRecord {
    /// The platform's session id.
    pub session_id: String,
    /// The 12-hex-digit `sandbox-key` tag value.
    pub sandbox_key: String,
    /// The role session name.
    pub role_session_name: String,
    /// The profile the keys are for.
    pub profile: String,
    /// The token's `sub`, if any.
    pub caller: Option<String>,
    /// Unix seconds: now.
    pub now: u64,
    /// Unix seconds: when the credentials being issued expire.
    pub lease_expires_at: u64,
    /// Unix seconds: when cleanup becomes due if nothing else happens.
    pub due_at: u64,
    /// The pool account the session is bound to (account profiles): set
    /// once; an issue naming another is refused with [`RecordError::Bound`].
    pub account_id: Option<String>,
    /// The budget the request set (the latest one set holds).
    pub budget_usd: Option<f64>,
}

/// Why an issue could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The session has ended (DELETE, or its lease ran out): it takes no
    /// new credentials; a new attempt needs a new session id.
    #[error("session `{0}` has ended ({1})")]
    Ended(String, SessionState),
    /// The session already holds another pool account.
    #[error("session `{0}` holds account {1}")]
    Bound(String, String),
    /// The table could not be written.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// How `DELETE /sessions/{id}` ends a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndRecord {
    /// The session.
    pub session_id: String,
    /// Unix seconds: now.
    pub now: u64,
    /// Profiles revoked now (all the session used, or the one named).
    pub revoked: Vec<String>,
    /// Queue a cleanup again even if one already finished (admin re-run).
    pub again: bool,
}

/// `GET /sessions` filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only sessions in this state.
    pub state: Option<SessionState>,
    /// Only sessions that used this profile.
    pub profile: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Where the previous page stopped (opaque to clients).
    pub cursor: Option<String>,
}

/// The session ledger.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Records an issue: creates the session or adds the profile to it and
    /// extends its lease. Refused once the session has ended.
    async fn record_issue(&self, issue: &IssueRecord) -> Result<(), RecordError>;
    /// Ends the session now (state `ended`, cleanup due now) and records
    /// the revocations; `None` when there is no such session.
    async fn end(&self, end: &EndRecord) -> Result<Option<SessionRecord>, UpstreamError>;
    /// Undoes an issue whose lease of `account_id` failed before any
    /// credential left: the record goes if that issue created it (at or
    /// after `since`), else only its binding; `false` when it is bound to
    /// none or another account.
    async fn unbind(&self, session_id: &str, account_id: &str, since: u64) -> Result<bool, UpstreamError>;
    /// Freezes an active session (`frozen`) or unfreezes a frozen one, with
    /// a conditional write on the state it leaves: the new record, or
    /// `None` when it was not in that state (or is not recorded).
    async fn set_frozen(
        &self,
        session_id: &str,
        frozen: bool,
        now: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError>;
    /// Moves an active session's lease end from `from` to `to` and its
    /// cleanup to `due`, only if neither changed meanwhile: the new record,
    /// or `None` (not active, or its lease moved).
    async fn extend_lease(
        &self,
        session_id: &str,
        from: u64,
        to: u64,
        due: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError>;
    /// Claims an active or frozen session for `owner`'s meter pass until
    /// `until`, unless another owner's claim is live: two replicas never
    /// meter, or act on, one session in the same interval.
    async fn claim_meter(&self, session_id: &str, owner: &str, now: u64, until: u64) -> Result<bool, UpstreamError>;
    /// Stores the spend meter's latest estimate of the session and renews
    /// `owner`'s meter claim until `until` in the same write; `false` when
    /// no such session is recorded or another owner's claim holds it.
    async fn record_spend(
        &self,
        session_id: &str,
        spend: &spend::Spend,
        owner: &str,
        until: u64,
    ) -> Result<bool, UpstreamError>;
    /// One session.
    async fn get(&self, session_id: &str) -> Result<Option<SessionRecord>, UpstreamError>;
    /// A page of sessions and the cursor of the next one.
    async fn list(&self, query: &ListQuery) -> Result<(Vec<SessionRecord>, Option<String>), UpstreamError>;
    /// Sessions not cleaned yet whose cleanup is due by `now`, oldest first
    /// (from an index holding only those: no scan).
    async fn due(&self, now: u64, limit: u32) -> Result<Vec<SessionRecord>, UpstreamError>;
    /// How many sessions are not cleaned yet, and the oldest one's due time.
    async fn backlog(&self, now: u64) -> Result<(usize, Option<u64>), UpstreamError>;
    /// Claims a due session for `owner` until `until`, unless another
    /// replica's claim is still running; `None` if it could not. The record
    /// returned shows the state *before* the claim (`active` when the claim
    /// ended it because its lease ran out), with the claim and attempt added.
    async fn claim(
        &self,
        session_id: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError>;
    /// Extends `owner`'s claim to `until` while its attempt runs; `false`
    /// when the claim was lost.
    async fn renew(&self, session_id: &str, owner: &str, until: u64) -> Result<bool, UpstreamError>;
    /// Stores a cleanup outcome if `owner` still holds the claim; `false`
    /// when the claim was lost (taken over after it expired).
    async fn finish(
        &self,
        session_id: &str,
        owner: &str,
        state: SessionState,
        report: &CleanupReport,
    ) -> Result<bool, UpstreamError>;
    /// Puts a session back in the queue (a dry run, or a retry later).
    async fn release(
        &self,
        session_id: &str,
        owner: &str,
        due_at: u64,
        report: &CleanupReport,
    ) -> Result<bool, UpstreamError>;
    /// The table, or `None` when it does not exist.
    async fn describe(&self) -> Result<Option<TableInfo>, UpstreamError>;
    /// Creates the table and its indexes.
    async fn create(&self) -> Result<(), UpstreamError>;
    /// Deletes the table.
    async fn delete(&self) -> Result<(), UpstreamError>;
}
