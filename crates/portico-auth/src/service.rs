//! Signing people in: the token for a user (with their ownership from the catalog), the
//! `backstageIdentity` answer Backstage's frontend expects, the portal's session cookie, and
//! the audit log's record of who signed in and out. Every sign-in provider goes through
//! [`AuthService`].

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use portico_plugin::Audit;
use portico_store::AuditOutcome;
use portico_web::{ApiError, ErrorKind, UserPrincipal};
use serde_json::{Value, json};

use crate::catalog::{UserCatalog, catalog_ownership};
use crate::config::{AuthConfig, GuestConfig};
use crate::oauth::cookie;
use crate::oidc::OidcProvider;
use crate::tokens::{IssueError, IssuedToken, TokenFactory};

/// The cookie that keeps a person signed in to the portal's pages: their user token.
pub const SESSION_COOKIE: &str = "portico-session";
/// Browsers keep cookies up to about 4 KB; a longer session cookie would be dropped silently.
const MAX_COOKIE_VALUE: usize = 4_000;

/// Backstage's answer when the guest provider is used outside development.
pub const GUEST_REFUSED: &str = "The guest provider is NOT recommended for use outside of a development environment. If you want to enable this, set `auth.providers.guest.dangerouslyAllowOutsideDevelopment: true` in your app config.";

/// The audit action of a sign-in, through any provider or the portal's own pages.
pub const AUDIT_SIGN_IN: &str = "auth.sign-in";
/// The audit action of a sign-out.
pub const AUDIT_SIGN_OUT: &str = "auth.sign-out";
/// The actor of audit entries about someone the portal could not identify.
const ANONYMOUS: &str = "anonymous";

/// Sign-in for every provider. Cheap to clone.
#[derive(Clone)]
pub struct AuthService {
    tokens: TokenFactory,
    catalog: Arc<dyn UserCatalog>,
    config: Arc<AuthConfig>,
    audit: Audit,
    oidc: Option<Arc<OidcProvider>>,
}

/// How a sign-in ended, for the audit log.
pub(crate) enum SignInOutcome<'a> {
    /// Signed in as this user.
    Succeeded { user: &'a str },
    /// Refused: `claimed` is who the provider said the person is (their email), if it said.
    Failed { claimed: Option<&'a str>, reason: &'a str },
}

impl AuthService {
    /// The service configured by `config`, issuing `tokens`, reading users from `catalog`,
    /// recording sign-ins into `audit`, and reaching OpenID Connect providers with `http`.
    pub fn new(
        tokens: TokenFactory,
        catalog: Arc<dyn UserCatalog>,
        config: AuthConfig,
        audit: Audit,
        http: reqwest::Client,
    ) -> AuthService {
        let oidc = config.oidc.as_ref().map(|oidc| Arc::new(OidcProvider::new(oidc, &config, http)));
        AuthService { tokens, catalog, config: Arc::new(config), audit, oidc }
    }

    /// The catalog users are resolved in.
    pub(crate) fn catalog(&self) -> &dyn UserCatalog {
        self.catalog.as_ref()
    }

    /// The OpenID Connect provider, when `auth.providers.oidc` is configured.
    pub(crate) fn oidc(&self) -> Option<&OidcProvider> {
        self.oidc.as_deref()
    }

    /// Records a sign-in through `provider` (`guest`, `oidc`) by way of `flow` (`popup` and
    /// `redirect` for the provider's frame handler, `form` for the portal's guest form).
    pub(crate) async fn audit_sign_in(&self, provider: &str, flow: &str, outcome: SignInOutcome<'_>) {
        let (actor, result, details) = match outcome {
            SignInOutcome::Succeeded { user } => (user, AuditOutcome::Succeeded, json!({"flow": flow})),
            SignInOutcome::Failed { claimed, reason } => {
                (claimed.unwrap_or(ANONYMOUS), AuditOutcome::Failed, json!({"flow": flow, "error": reason}))
            }
        };
        self.audit.record(actor, AUDIT_SIGN_IN, provider, result, details).await;
    }

    /// Records a sign-out from `target` (a provider id, or `session` for the portal's own
    /// session) by `actor` (a user ref; `anonymous` when unknown).
    pub(crate) async fn audit_sign_out(&self, actor: Option<&str>, target: &str) {
        let actor = actor.unwrap_or(ANONYMOUS);
        self.audit.record(actor, AUDIT_SIGN_OUT, target, AuditOutcome::Succeeded, Value::Null).await;
    }

    /// The user a request comes from according to its bearer token or session cookie, for
    /// routes the gate does not look at (the auth plugin's own).
    pub(crate) async fn caller(&self, headers: &HeaderMap) -> Option<String> {
        let token = crate::gate::bearer_token(headers).or_else(|| session_token(headers))?;
        self.tokens.verify(token).await.ok().map(|user| user.user_entity_ref)
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
    cookie(headers, SESSION_COOKIE)
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
