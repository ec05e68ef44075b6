//! `/api/auth` (other-apis.md §4.1): OIDC discovery, the JWKS, user info, and the routes of
//! each sign-in provider (`/<provider>/start`, `/handler/frame`, `/refresh`, `/logout`): the
//! guest's here, the OpenID Connect provider's in [`crate::oidc`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_web::{ApiError, ApiResult, ErrorKind};
use serde_json::{Value, json};

use crate::oauth::Delivery;
use crate::service::{AuthService, SignInOutcome};

/// The routes under `/api/auth`.
pub fn router(service: AuthService) -> Router {
    let mut router = Router::new()
        .route("/.well-known/openid-configuration", get(openid_configuration))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/userinfo", get(userinfo));
    if service.config().guest.is_some() {
        router = router
            .route("/guest/start", get(guest_start))
            .route("/guest/handler/frame", get(guest_frame).post(guest_frame))
            .route("/guest/refresh", get(guest_refresh).post(guest_refresh))
            .route("/guest/logout", post(guest_logout));
    }
    if service.oidc().is_some() {
        router = crate::oidc::routes::routes(router);
    }
    router
        .route("/{provider}", get(unknown_provider).post(unknown_provider))
        .route("/{provider}/{*rest}", get(unknown_provider).post(unknown_provider))
        .with_state(service)
}

/// `GET /.well-known/openid-configuration`.
async fn openid_configuration(State(service): State<AuthService>) -> Json<Value> {
    let issuer = service.tokens().issuer();
    Json(json!({
        "issuer": issuer,
        "userinfo_endpoint": format!("{issuer}/v1/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid"],
        "token_endpoint_auth_methods_supported": [],
        "claims_supported": ["sub", "ent"],
        "grant_types_supported": [],
    }))
}

/// `GET /.well-known/jwks.json`: every public key that may have signed a valid token.
async fn jwks(State(service): State<AuthService>) -> ApiResult<Response> {
    let keys = service.tokens().public_keys().await.map_err(|error| {
        tracing::error!(%error, "could not read the token signing keys");
        ApiError::internal("The signing keys could not be read")
    })?;
    let mut response = Json(json!({ "keys": keys })).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /v1/userinfo`: the claims of the caller's user token.
async fn userinfo(State(service): State<AuthService>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let token = crate::gate::bearer_token(&headers)
        .ok_or_else(|| ApiError::new(ErrorKind::Authentication, "No token provided"))?;
    let user = service.tokens().verify(token).await.map_err(|error| {
        tracing::debug!(%error, "refused a token asking for user info");
        ApiError::new(ErrorKind::Authentication, "Failed user token verification")
    })?;
    Ok(Json(json!({ "sub": user.user_entity_ref, "ent": user.ownership_entity_refs })))
}

/// `GET /guest/start`: nothing to consent to, straight to the frame handler with the same query.
async fn guest_start(State(service): State<AuthService>, uri: axum::http::Uri) -> Response {
    let query = uri.query().map(|query| format!("?{query}")).unwrap_or_default();
    let location = format!("{}/guest/handler/frame{query}", service.tokens().issuer());
    match HeaderValue::from_str(&location) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => ApiError::input("The query cannot be passed on").into_response(),
    }
}

/// `GET|POST /guest/handler/frame`: signs the guest in and hands the answer to the app — as
/// the popup page (default), or by redirecting to `redirectUrl` (`flow=redirect`), which must
/// be a page of the app and then also gets the portal's session cookie.
async fn guest_frame(
    State(service): State<AuthService>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let app_origin = service.config().app_origin.clone();
    let flow = query.get("flow").map(String::as_str);
    let delivery = Delivery::new(flow, query.get("redirectUrl").map(String::as_str), &app_origin)?;
    let signed_in = match query.get("origin").filter(|origin| **origin != app_origin) {
        Some(origin) => Err(ApiError::not_allowed(format!("Origin '{origin}' is not allowed"))),
        None => service.sign_in_as_guest().await,
    };
    let response = match signed_in {
        Ok(issued) => {
            let user = &issued.principal.user_entity_ref;
            service.audit_sign_in("guest", delivery.flow(), SignInOutcome::Succeeded { user }).await;
            let answer = json!({
                "profile": {"displayName": "Guest"},
                "providerInfo": {"name": "Guest"},
                "backstageIdentity": service.backstage_identity(&issued),
            });
            let mut response = delivery.success(&app_origin, answer);
            if let (Delivery::Redirect(_), Some(cookie)) = (&delivery, service.session_cookie(&issued)) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => {
            let outcome = SignInOutcome::Failed { claimed: None, reason: &error.message };
            service.audit_sign_in("guest", delivery.flow(), outcome).await;
            delivery.failure(&app_origin, &error)
        }
    };
    Ok(response)
}

/// `GET|POST /guest/refresh`: a fresh token for the guest.
async fn guest_refresh(State(service): State<AuthService>) -> ApiResult<Json<Value>> {
    let issued = service.sign_in_as_guest().await?;
    Ok(Json(json!({
        "profile": {"displayName": "Guest"},
        "providerInfo": {},
        "backstageIdentity": service.backstage_identity(&issued),
    })))
}

/// `POST /guest/logout`: there is no provider session to end; the sign-out is recorded.
async fn guest_logout(State(service): State<AuthService>, headers: HeaderMap) -> StatusCode {
    let user = service.caller(&headers).await;
    service.audit_sign_out(user.as_deref(), "guest").await;
    StatusCode::OK
}

/// Any other `/<provider>/...`: `404` naming the provider.
async fn unknown_provider(
    State(service): State<AuthService>,
    Path(params): Path<HashMap<String, String>>,
) -> ApiError {
    let provider = params.get("provider").map(String::as_str).unwrap_or_default();
    if service.config().unsupported_providers.iter().any(|id| id == provider) {
        ApiError::not_found(format!("No auth provider registered for '{provider}'"))
    } else {
        ApiError::not_found(format!("Unknown auth provider '{provider}'"))
    }
}
