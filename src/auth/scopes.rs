//! Scope-checking extractors: a handler that takes `Authorized<IssueSessions>`
//! cannot run for a caller without `sessions:issue`, and the check happens
//! before the body is read.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::{Claims, Verifier};
use crate::error::ApiError;

/// A permission named by an OAuth2 scope.
pub trait Scope: Send + Sync {
    /// The scope's name in tokens.
    const NAME: &'static str;
}

/// `sessions:issue`: POST /sessions.
pub struct IssueSessions;
/// `sessions:revoke`: DELETE /sessions/{id}.
pub struct RevokeSessions;
/// `sessions:read`: GET /sessions, GET /sessions/{id}.
pub struct ReadSessions;
/// `admin`: every /admin route.
pub struct Admin;

impl Scope for IssueSessions {
    const NAME: &'static str = "sessions:issue";
}
impl Scope for RevokeSessions {
    const NAME: &'static str = "sessions:revoke";
}
impl Scope for ReadSessions {
    const NAME: &'static str = "sessions:read";
}
impl Scope for Admin {
    const NAME: &'static str = "admin";
}

/// Verified claims that carry scope `S`.
pub struct Authorized<S: Scope> {
    /// The caller's verified claims.
    pub claims: Claims,
    scope: PhantomData<S>,
}

impl<S, St> FromRequestParts<St> for Authorized<S>
where
    S: Scope,
    St: Send + Sync,
    Arc<Verifier>: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let claims = Claims::from_request_parts(parts, state).await?;
        if claims.scopes.iter().any(|s| s == S::NAME) {
            Ok(Self { claims, scope: PhantomData })
        } else {
            Err(ApiError::InsufficientScope(S::NAME))
        }
    }
}
