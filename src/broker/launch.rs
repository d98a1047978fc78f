//! Durable console links. AWS sign-in tokens die 15 minutes after minting;
//! a learner often clicks much later. The launch ticket proves the broker
//! issued the session; each click mints fresh credentials for the same role
//! session name and a new sign-in token.

use secrecy::SecretString;

use super::Broker;
use crate::clock::unix_seconds;
use crate::domain::ticket::TicketError;
use crate::domain::{Destination, Region, SessionId};
use crate::error::ApiError;

impl Broker {
    /// Verifies the ticket and answers with a fresh console login URL.
    ///
    /// The new credentials live for the ticket's remaining lifetime, so a
    /// click never extends the session — except that STS will not issue
    /// credentials for less than 900 seconds, so a click in the last 15
    /// minutes yields a console session of up to 15 minutes past the
    /// original expiry.
    pub async fn launch_console(&self, raw_ticket: &str) -> Result<SecretString, ApiError> {
        let now = unix_seconds(self.clock.now());
        let ticket = self.tickets.verify(raw_ticket, now).map_err(|e| match e {
            TicketError::Expired => ApiError::Unauthorized("this console link has expired"),
            TicketError::BadSignature | TicketError::Malformed => {
                ApiError::Unauthorized("this console link is not valid")
            }
        })?;
        // A ticket the broker signed holds values it validated; re-check
        // them anyway so a leaked key cannot steer AWS calls.
        let invalid = |_| ApiError::Unauthorized("this console link is not valid");
        let id = SessionId::parse(&ticket.session_id).map_err(invalid)?;
        let region = Region::parse(&ticket.region).map_err(invalid)?;
        let destination = Destination::parse(&ticket.destination, region.partition()).map_err(invalid)?;
        self.profile(&ticket.profile).map_err(|_| ApiError::Unauthorized("this console link is not valid"))?;
        let remaining = u32::try_from(ticket.exp.saturating_sub(now)).unwrap_or(u32::MAX);
        let minted = self.mint(&ticket.profile, &id, remaining, Some(&destination)).await?;
        tracing::info!(
            target: "sandbox_broker::audit",
            event = "console_launched",
            session_id = %id,
            profile = %ticket.profile,
            role_session_name = %minted.session_name,
            access_key_id = %minted.issued.credentials.access_key_id,
            duration_seconds = minted.duration.seconds(),
        );
        crate::telemetry::metrics::session_event("launched", &ticket.profile);
        minted.console.map(|(url, _)| url).ok_or_else(|| ApiError::Internal("no sign-in URL was minted".into()))
    }
}
