//! The one middleware that establishes who sent a request (see [`portico_web::Principal`]).
//!
//! * `Authorization: Bearer <token>`: a static service token, else a user token. Under `/api`
//!   a token that is neither is refused (`401`), and a static token restricted to other
//!   plugins too (`403`); pages treat such a request as anonymous.
//! * Otherwise the session cookie: a valid one signs the person in (and is renewed once half
//!   its lifetime has passed); an invalid one is cleared and the visitor is anonymous.
//! * With the default auth policy on (`backend.auth.dangerouslyDisableDefaultAuthPolicy:
//!   false`), `/api` requests without credentials are refused (`401`), except `/api/auth`.
//!
//! Tokens never appear in logs or errors: only the reason a token was refused.

use async_trait::async_trait;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portico_plugin::Authenticator;
use portico_web::{ApiError, ErrorKind, Principal};

use crate::service::{AuthService, session_token, sets_session_cookie};
use crate::tokens::TokenError;

/// The auth plugin's [`Authenticator`].
pub struct Gate {
    service: AuthService,
}

impl Gate {
    pub fn new(service: AuthService) -> Gate {
        Gate { service }
    }

    /// The principal of a bearer token sent to `plugin` (`None` for pages).
    async fn bearer_principal(&self, token: &str, plugin: Option<&str>) -> Result<Principal, ApiError> {
        if let Some(service) = self.service.config().external_access.verify(token, plugin) {
            return service.map(Principal::Service);
        }
        match self.service.tokens().verify(token).await {
            Ok(user) => Ok(Principal::User(user)),
            Err(error) => {
                tracing::debug!(reason = %error, "refused a bearer token");
                let message = match error {
                    TokenError::Malformed => "Illegal token",
                    _ => "Failed user token verification",
                };
                Err(ApiError::new(ErrorKind::Authentication, message))
            }
        }
    }
}

#[async_trait]
impl Authenticator for Gate {
    async fn authenticate(&self, mut request: Request, next: Next) -> Response {
        let plugin = api_plugin(request.uri().path()).map(str::to_owned);
        // The auth plugin's own routes read what they need themselves (sign-in must work
        // without credentials, user info reads its bearer token).
        if plugin.as_deref() == Some("auth") {
            return next.run(request).await;
        }
        let mut session_cookie = None;
        let principal = match bearer_token(request.headers()) {
            Some(token) => match self.bearer_principal(token, plugin.as_deref()).await {
                Ok(principal) => principal,
                Err(error) if plugin.is_some() => return error.into_response(),
                Err(_) => Principal::None,
            },
            None => match session_token(request.headers()) {
                None => Principal::None,
                Some(token) => match self.service.tokens().verify(token).await {
                    Ok(user) => {
                        let lifetime = self.service.tokens().lifetime().as_secs();
                        if self.service.tokens().seconds_left(&user) < lifetime / 2 {
                            match self.service.renew(&user).await {
                                Ok(renewed) => {
                                    session_cookie = self.service.session_cookie(&renewed);
                                    Principal::User(renewed.principal)
                                }
                                Err(error) => {
                                    tracing::warn!(%error, "could not renew a session");
                                    Principal::User(user)
                                }
                            }
                        } else {
                            Principal::User(user)
                        }
                    }
                    Err(error) => {
                        tracing::debug!(reason = %error, "ignored an invalid session cookie");
                        session_cookie = Some(self.service.clear_session_cookie());
                        Principal::None
                    }
                },
            },
        };
        if plugin.is_some() && principal == Principal::None && !self.service.config().open_api {
            return ApiError::new(ErrorKind::Authentication, "Missing credentials").into_response();
        }
        request.extensions_mut().insert(principal);
        let mut response = next.run(request).await;
        // A handler that signed in or out has the last word on the session.
        if let Some(cookie) = session_cookie.filter(|_| !sets_session_cookie(response.headers())) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// The plugin an API path addresses (`catalog` for `/api/catalog/entities`; empty for `/api`
/// itself); `None` for every other path.
fn api_plugin(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api")?;
    if rest.is_empty() {
        return Some("");
    }
    let rest = rest.strip_prefix('/')?;
    Some(rest.split('/').next().unwrap_or_default())
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::HeaderValue;
    use axum::routing::get;
    use portico_config::Config;
    use tower::ServiceExt;

    use super::*;
    use crate::catalog::tests::FixedCatalog;
    use crate::config::AuthConfig;
    use crate::tokens::tests::Fixture;

    /// A route behind the gate answering the signed-in user; `/sign-out` clears the session.
    fn app(service: AuthService) -> Router {
        let gate = Arc::new(Gate::new(service.clone()));
        Router::new()
            .route(
                "/whoami",
                get(|principal: Principal| async move {
                    principal.user().map(|u| u.user_entity_ref.clone()).unwrap_or_default()
                }),
            )
            .route(
                "/sign-out",
                get(move || {
                    let service = service.clone();
                    async move { ([(header::SET_COOKIE, service.clear_session_cookie())], "bye") }
                }),
            )
            .layer(axum::middleware::from_fn(move |request: Request, next: Next| {
                let gate = gate.clone();
                async move { gate.authenticate(request, next).await }
            }))
    }

    async fn send(app: &Router, path: &str, token: &str) -> Response {
        let request = Request::get(path)
            .header(header::COOKIE, HeaderValue::from_str(&format!("portico-session={token}")).unwrap())
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(request).await.unwrap()
    }

    fn session_of(response: &Response) -> Vec<String> {
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn sessions_are_renewed_once_half_their_lifetime_has_passed() {
        let fixture = Fixture::new().await;
        let config =
            Config::from_yaml_str("auth:\n  providers:\n    guest: {}\n", Path::new("."), &|_| None).unwrap();
        let catalog = FixedCatalog::default().with("User", "jane", &[("memberOf", "group:default/team-a")]);
        let config = AuthConfig::from_config(&config).unwrap();
        let audit = portico_plugin::Audit::new(fixture.store.clone());
        let service =
            AuthService::new(fixture.factory(), Arc::new(catalog), config, audit, reqwest::Client::new());
        let app = app(service.clone());
        // Signed in before joining the catalog: the token owns through the user alone.
        let issued = service.tokens().issue("user:default/jane", &[]).await.unwrap();

        fixture.advance(Duration::from_secs(29 * 60));
        let fresh = send(&app, "/whoami", &issued.token).await;
        assert!(session_of(&fresh).is_empty(), "more than half the lifetime left");

        fixture.advance(Duration::from_secs(2 * 60));
        let renewed = send(&app, "/whoami", &issued.token).await;
        let cookies = session_of(&renewed);
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        let token =
            cookies[0].strip_prefix("portico-session=").unwrap().split(';').next().unwrap().to_owned();
        assert_ne!(token, issued.token);
        assert!(cookies[0].contains("Max-Age=3600"), "{}", cookies[0]);
        let principal = service.tokens().verify(&token).await.unwrap();
        assert_eq!(
            principal.ownership_entity_refs,
            ["user:default/jane", "group:default/team-a"],
            "ownership re-read"
        );
        assert_eq!(principal.expires_at, issued.principal.expires_at + 31 * 60);

        let signed_out = send(&app, "/sign-out", &issued.token).await;
        let cookies = session_of(&signed_out);
        assert_eq!(cookies.len(), 1, "signing out is not undone by a renewal: {cookies:?}");
        assert!(cookies[0].starts_with("portico-session=;"));

        fixture.advance(Duration::from_secs(30 * 60));
        let expired = send(&app, "/whoami", &issued.token).await;
        assert!(session_of(&expired)[0].contains("Max-Age=0"), "an expired session is cleared");
    }

    #[test]
    fn api_paths_name_their_plugin() {
        assert_eq!(api_plugin("/api/catalog/entities"), Some("catalog"));
        assert_eq!(api_plugin("/api/auth"), Some("auth"));
        assert_eq!(api_plugin("/api"), Some(""));
        assert_eq!(api_plugin("/api/"), Some(""));
        assert_eq!(api_plugin("/apis"), None);
        assert_eq!(api_plugin("/api-docs"), None);
        assert_eq!(api_plugin("/catalog"), None);
        assert_eq!(api_plugin("/healthz"), None);
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer abc.def".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc.def"));
        headers.insert(header::AUTHORIZATION, "bearer  xyz ".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("xyz"));
        headers.insert(header::AUTHORIZATION, "Basic dXNlcg==".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
