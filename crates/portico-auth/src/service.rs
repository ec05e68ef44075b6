//! Signing people in: the token for a user (with their ownership from the catalog), the
//! `backstageIdentity` answer Backstage's frontend expects, and the portal's session cookie.
//! Every sign-in provider goes through [`AuthService`].

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use portico_web::{ApiError, ErrorKind, UserPrincipal};
use serde_json::{Value, json};

use crate::catalog::{UserCatalog, catalog_ownership};
use crate::config::{AuthConfig, GuestConfig};
use crate::tokens::{IssueError, IssuedToken, TokenFactory};

/// The cookie that keeps a person signed in to the portal's pages: their user token.
pub const SESSION_COOKIE: &str = "portico-session";
/// Browsers keep cookies up to about 4 KB; a longer session cookie would be dropped silently.
const MAX_COOKIE_VALUE: usize = 4_000;

/// Backstage's answer when the guest provider is used outside development.
pub const GUEST_REFUSED: &str = "The guest provider is NOT recommended for use outside of a development environment. If you want to enable this, set `auth.providers.guest.dangerouslyAllowOutsideDevelopment: true` in your app config.";

/// Sign-in for every provider. Cheap to clone.
#[derive(Clone)]
pub struct AuthService {
    tokens: TokenFactory,
    catalog: Arc<dyn UserCatalog>,
    config: Arc<AuthConfig>,
}

impl AuthService {
    pub fn new(tokens: TokenFactory, catalog: Arc<dyn UserCatalog>, config: AuthConfig) -> AuthService {
        AuthService { tokens, catalog, config: Arc::new(config) }
    }

    /// The tokens this portal issues and verifies.
    pub fn tokens(&self) -> &TokenFactory {
        &self.tokens
    }

    /// The plugin's configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Signs `user_ref` in: when the user is in the catalog it owns through itself, its groups
    /// and their parents; otherwise through `fallback_ownership`.
    pub async fn sign_in(
        &self,
        user_ref: &str,
        fallback_ownership: &[String],
    ) -> Result<IssuedToken, IssueError> {
        let ownership = match catalog_ownership(self.catalog.as_ref(), user_ref).await {
            Some(ownership) => ownership,
            None => fallback_ownership.to_vec(),
        };
        self.tokens.issue(user_ref, &ownership).await
    }

    /// The guest provider's sign-in (`auth.providers.guest`): `404` when it is not configured,
    /// `501 NotImplementedError` outside development unless allowed there.
    pub async fn sign_in_as_guest(&self) -> Result<IssuedToken, ApiError> {
        let guest = self.guest()?;
        if !self.config.is_development() && !guest.allow_outside_development {
            return Err(ApiError::new(ErrorKind::NotImplemented, GUEST_REFUSED));
        }
        self.sign_in(&guest.user_entity_ref, &guest.ownership_entity_refs).await.map_err(issue_failed)
    }

    /// The guest provider's settings; `404` with Backstage's message when it is not configured.
    pub fn guest(&self) -> Result<&GuestConfig, ApiError> {
        self.config.guest.as_ref().ok_or_else(|| ApiError::not_found("Unknown auth provider 'guest'"))
    }

    /// Renews a session: signs the same user in again, so that a changed group membership in
    /// the catalog is picked up; a user not in the catalog keeps the ownership it had.
    pub async fn renew(&self, user: &UserPrincipal) -> Result<IssuedToken, IssueError> {
        self.sign_in(&user.user_entity_ref, &user.ownership_entity_refs).await
    }

    /// `backstageIdentity` of a sign-in answer: the token, the seconds it has left, and the
    /// identity its claims carry.
    pub fn backstage_identity(&self, issued: &IssuedToken) -> Value {
        json!({
            "token": issued.token,
            "expiresInSeconds": self.tokens.seconds_left(&issued.principal),
            "identity": {
                "type": "user",
                "userEntityRef": issued.principal.user_entity_ref,
                "ownershipEntityRefs": issued.principal.ownership_entity_refs,
            },
        })
    }

    /// `Set-Cookie` keeping `issued` as the session for as long as the token lives; `None`
    /// when the token is too large for a cookie.
    pub fn session_cookie(&self, issued: &IssuedToken) -> Option<HeaderValue> {
        if issued.token.len() > MAX_COOKIE_VALUE {
            return None;
        }
        let max_age = self.tokens.seconds_left(&issued.principal);
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
            issued.token,
            self.secure_attribute()
        ))
        .ok()
    }

    /// `Set-Cookie` ending the session.
    pub fn clear_session_cookie(&self) -> HeaderValue {
        let text = format!(
            "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
            self.secure_attribute()
        );
        HeaderValue::from_str(&text)
            .unwrap_or_else(|_| HeaderValue::from_static("portico-session=; Max-Age=0"))
    }

    fn secure_attribute(&self) -> &'static str {
        if self.config.secure_cookies { "; Secure" } else { "" }
    }
}

/// The session token of a request's `Cookie` headers, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| name.trim() == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// Whether a response sets (or clears) the session cookie itself.
pub(crate) fn sets_session_cookie(headers: &HeaderMap) -> bool {
    let prefix = format!("{SESSION_COOKIE}=");
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|value| value.to_str().is_ok_and(|text| text.starts_with(&prefix)))
}

/// A token that could not be issued, as an API error (`500`; the message names the claims,
/// never a token).
pub(crate) fn issue_failed(error: IssueError) -> ApiError {
    tracing::error!(%error, "could not issue a user token");
    ApiError::internal(error.to_string())
}
