//! `/api/auth/oidc/*` (other-apis.md §4.1–4.2): `start` sends the browser to the provider,
//! `handler/frame` takes it back and signs the person in, `refresh` renews the sign-in with
//! the provider's refresh token, `logout` ends it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portico_web::{ApiError, ErrorKind, Query};
use serde_json::{Map, Value, json};

use super::{Environment, OIDC_PROVIDER_ID, OidcProvider, Person, TokenSet};
use crate::oauth::{Delivery, OAuthState, code_challenge, cookie, new_code_verifier, new_nonce, redirect};
use crate::resolvers::{SignInIdentity, resolve_user};
use crate::service::{AuthService, SignInOutcome, issue_failed};
use crate::tokens::IssuedToken;

/// The provider's routes, added to the auth plugin's router.
pub(crate) fn routes(router: Router<AuthService>) -> Router<AuthService> {
    router
        .route("/oidc/start", get(start))
        .route("/oidc/handler/frame", get(frame).post(frame))
        .route("/oidc/refresh", get(refresh).post(refresh))
        .route("/oidc/logout", post(logout))
}

fn provider(service: &AuthService) -> Result<&OidcProvider, ApiError> {
    service.oidc().ok_or_else(|| ApiError::not_found(format!("Unknown auth provider '{OIDC_PROVIDER_ID}'")))
}

fn with_cookies(mut response: Response, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /oidc/start?env=<env>&scope=<s>&origin=<o>&flow=popup|redirect&redirectUrl=<u>`:
/// sets the nonce and PKCE verifier cookies, then `302` to the provider.
async fn start(State(service): State<AuthService>, RawQuery(query): RawQuery) -> Response {
    let query = Query::parse(query.as_deref());
    let environment = match provider(&service).and_then(|oidc| oidc.environment(query.one("env"))) {
        Ok(environment) => environment,
        Err(error) => return error.into_response(),
    };
    let app_origin = &service.config().app_origin;
    let delivery = match Delivery::new(query.one("flow"), query.one("redirectUrl"), app_origin) {
        Ok(delivery) => delivery,
        Err(error) => return error.into_response(),
    };
    let state = OAuthState {
        nonce: new_nonce(),
        env: environment.name.clone(),
        origin: query.one("origin").map(str::to_owned),
        scope: query.one("scope").map(str::to_owned),
        redirect_url: query.one("redirectUrl").map(str::to_owned),
        flow: query.one("flow").map(str::to_owned),
    };
    let verifier = new_code_verifier();
    let scope = environment.scope(query.one("scope"));
    let (encoded, challenge) = (state.encode(), code_challenge(&verifier));
    match environment.client.authorization_url(&encoded, &state.nonce, &challenge, &scope).await {
        Ok(url) => with_cookies(redirect(&url), environment.cookies.start_flow(&state.nonce, &verifier)),
        Err(error) => {
            tracing::warn!(%error, "could not start an OIDC sign-in");
            delivery.failure(app_origin, &error.into())
        }
    }
}

/// A sign-in that got as far as the provider's tokens and the person they name.
struct Authenticated {
    person: Person,
    tokens: TokenSet,
}

/// Why a sign-in was refused; who the provider said the person is, if it got that far; and
/// whether the authorization code was spent (until then the sign-in's cookies stay, so that
/// a forged callback cannot cancel a genuine one).
struct Refused {
    error: ApiError,
    claimed: Option<String>,
    spent: bool,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Refused {
        Refused { error, claimed: None, spent: false }
    }
}

/// A refusal after the code was exchanged.
fn spent(error: impl Into<ApiError>) -> Refused {
    Refused { error: error.into(), claimed: None, spent: true }
}

/// `GET|POST /oidc/handler/frame`: the provider's redirect back (the parameters in the query,
/// or in a form body for `response_mode=form_post`). Checks the state against the nonce
/// cookie and the allowed origin, exchanges the code with the PKCE verifier, verifies the ID
/// token, resolves the catalog user, then answers as the flow asks — the popup page, or a
/// redirect to the app that also sets the portal's session cookie. Failures past choosing the
/// environment and the way back are answered the same way, never as HTTP errors.
async fn frame(
    State(service): State<AuthService>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = Query::parse(query.as_deref());
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        for (name, value) in url::form_urlencoded::parse(&body) {
            params.push(name, value);
        }
    }
    let Some(state) = params.one("state") else {
        return ApiError::input("Must specify 'env' query to select environment").into_response();
    };
    let state = match OAuthState::decode(state) {
        Ok(state) => state,
        Err(error) => return error.into_response(),
    };
    let environment = match provider(&service).and_then(|oidc| oidc.environment(Some(&state.env))) {
        Ok(environment) => environment,
        Err(error) => return error.into_response(),
    };
    let app_origin = service.config().app_origin.clone();
    let delivery = match Delivery::new(state.flow.as_deref(), state.redirect_url.as_deref(), &app_origin) {
        Ok(delivery) => delivery,
        Err(error) => {
            service
                .audit_sign_in(
                    OIDC_PROVIDER_ID,
                    "redirect",
                    SignInOutcome::Failed { claimed: None, reason: &error.message },
                )
                .await;
            return error.into_response();
        }
    };
    let outcome = match authenticate(&service, environment, &state, &params, &headers).await {
        Ok(authenticated) => match sign_in(&service, environment, &authenticated.person).await {
            Ok(issued) => Ok((authenticated, issued)),
            Err(error) => Err(Refused { error, claimed: authenticated.person.email.clone(), spent: true }),
        },
        Err(refused) => Err(refused),
    };
    let flow_ended = outcome.as_ref().map_or_else(|refused| refused.spent, |_| true);
    let response = match outcome {
        Ok((authenticated, issued)) => {
            let user = issued.as_ref().map(|issued| issued.principal.user_entity_ref.as_str());
            if let Some(user) = user {
                service
                    .audit_sign_in(OIDC_PROVIDER_ID, delivery.flow(), SignInOutcome::Succeeded { user })
                    .await;
            }
            let answer =
                client_auth_response(&service, &authenticated, issued.as_ref(), state.scope.as_deref());
            let mut cookies = Vec::new();
            if let Some(refresh_token) = &authenticated.tokens.refresh_token {
                cookies.extend(environment.cookies.set_refresh_token(&headers, refresh_token));
            }
            // Coming back to a page of the app signs the person in to the portal's pages too.
            if let (Delivery::Redirect(_), Some(issued)) = (&delivery, &issued) {
                cookies.extend(service.session_cookie(issued));
            }
            with_cookies(delivery.success(&app_origin, answer), cookies)
        }
        Err(refused) => {
            tracing::info!(reason = %refused.error.message, "refused an OIDC sign-in");
            let outcome =
                SignInOutcome::Failed { claimed: refused.claimed.as_deref(), reason: &refused.error.message };
            service.audit_sign_in(OIDC_PROVIDER_ID, delivery.flow(), outcome).await;
            delivery.failure(&app_origin, &refused.error)
        }
    };
    if flow_ended { with_cookies(response, environment.cookies.end_flow()) } else { response }
}

/// From the provider's redirect back to the person the verified ID token names.
async fn authenticate(
    service: &AuthService,
    environment: &Environment,
    state: &OAuthState,
    params: &Query,
    headers: &HeaderMap,
) -> Result<Authenticated, Refused> {
    let cookies = &environment.cookies;
    let nonce = cookie(headers, &cookies.nonce_name())
        .ok_or_else(|| ApiError::not_allowed("Auth response is missing cookie nonce"))?;
    if nonce != state.nonce {
        return Err(ApiError::not_allowed("Invalid nonce").into());
    }
    if let Some(origin) = state.origin.as_deref().filter(|origin| *origin != service.config().app_origin) {
        return Err(ApiError::not_allowed(format!("Origin '{origin}' is not allowed")).into());
    }
    if let Some(error) = params.one("error") {
        let description =
            params.one("error_description").map(|text| format!(" ({text})")).unwrap_or_default();
        let message = format!("The sign-in provider did not sign you in: {error}{description}");
        return Err(ApiError::new(ErrorKind::Authentication, message).into());
    }
    let client = &environment.client;
    // RFC 9207: a provider that names itself must be the one this sign-in went to.
    if let Some(issuer) = params.one("iss") {
        let expected = client.issuer().await.map_err(ApiError::from)?;
        if issuer != expected {
            return Err(ApiError::not_allowed("The sign-in response comes from another provider").into());
        }
    }
    let code = params
        .one("code")
        .ok_or_else(|| ApiError::input("The sign-in provider's response has no authorization code"))?;
    let verifier = cookie(headers, &cookies.verifier_name())
        .ok_or_else(|| ApiError::not_allowed("Auth response is missing cookie code verifier"))?;
    let tokens = client.exchange_code(code, verifier).await.map_err(spent)?;
    let id_token = tokens.id_token.as_deref().ok_or_else(|| {
        spent(ApiError::new(
            ErrorKind::Authentication,
            "The sign-in provider's token response has no ID token",
        ))
    })?;
    let person = client.verify_id_token(id_token, Some(nonce)).await.map_err(spent)?;
    let person = match person.email {
        Some(_) => person,
        None => client.complete_from_userinfo(person, &tokens.access_token).await.map_err(spent)?,
    };
    Ok(Authenticated { person, tokens })
}

/// The Backstage token for `person`: the user the resolvers find; `None` when the environment
/// has no resolvers (the answer then carries no Backstage identity, as in Backstage).
async fn sign_in(
    service: &AuthService,
    environment: &Environment,
    person: &Person,
) -> Result<Option<IssuedToken>, ApiError> {
    let resolvers = &environment.client.settings().resolvers;
    if resolvers.is_empty() {
        return Ok(None);
    }
    let identity = SignInIdentity { email: person.email.clone(), user_id: Some(person.sub.clone()) };
    let user = resolve_user(resolvers, &identity, service.catalog()).await?;
    tracing::info!(user = %user.user_entity_ref, resolver = user.resolver, "resolved an OIDC sign-in");
    let issued = service.tokens().issue(&user.user_entity_ref, &user.ownership_entity_refs).await;
    issued.map(Some).map_err(issue_failed)
}

/// Backstage's `ClientAuthResponse`: profile, provider info and, when a user was signed in,
/// the Backstage identity.
fn client_auth_response(
    service: &AuthService,
    authenticated: &Authenticated,
    issued: Option<&IssuedToken>,
    requested_scope: Option<&str>,
) -> Value {
    let Authenticated { person, tokens } = authenticated;
    let mut profile = Map::new();
    for (name, value) in
        [("email", &person.email), ("displayName", &person.name), ("picture", &person.picture)]
    {
        if let Some(value) = value {
            profile.insert(name.to_owned(), json!(value));
        }
    }
    let mut provider_info = json!({
        "accessToken": tokens.access_token,
        "scope": tokens.scope.as_deref().or(requested_scope).unwrap_or_default(),
    });
    if let Some(id_token) = &tokens.id_token {
        provider_info["idToken"] = json!(id_token);
    }
    if let Some(expires_in) = tokens.expires_in {
        provider_info["expiresInSeconds"] = json!(expires_in);
    }
    let mut answer = json!({"profile": profile, "providerInfo": provider_info});
    if let Some(issued) = issued {
        answer["backstageIdentity"] = service.backstage_identity(issued);
    }
    answer
}

/// The `X-Requested-With: XMLHttpRequest` header `refresh` and `logout` require, so that
/// another site cannot make a browser call them.
fn check_requested_with(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("x-requested-with").and_then(|value| value.to_str().ok()) {
        Some("XMLHttpRequest") => Ok(()),
        _ => Err(ApiError::new(ErrorKind::Authentication, "Invalid X-Requested-With header")),
    }
}

/// `GET|POST /oidc/refresh?env=<env>&scope=<s>`: new provider tokens for the refresh cookie,
/// the person verified again and the resolvers run again; the refresh cookie is replaced when
/// the provider rotates the refresh token.
async fn refresh(
    State(service): State<AuthService>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match refresh_session(&service, Query::parse(query.as_deref()), &headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn refresh_session(
    service: &AuthService,
    query: Query,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    check_requested_with(headers)?;
    let environment = provider(service)?.environment(query.one("env"))?;
    let failed = |error: ApiError| {
        ApiError::new(
            ErrorKind::Authentication,
            format!("Refresh failed; caused by {}: {}", error.kind.name(), error.message),
        )
    };
    let refresh_token = environment
        .cookies
        .refresh_token(headers)
        .ok_or_else(|| failed(ApiError::input("Missing session cookie")))?;
    let client = &environment.client;
    let tokens = client.refresh(&refresh_token).await.map_err(|error| failed(error.into()))?;
    let person = match &tokens.id_token {
        Some(id_token) => {
            client.verify_id_token(id_token, None).await.map_err(|error| failed(error.into()))?
        }
        None => Person::default(),
    };
    let person = match person.email {
        Some(_) => person,
        None => client
            .complete_from_userinfo(person, &tokens.access_token)
            .await
            .map_err(|error| failed(error.into()))?,
    };
    if person.sub.is_empty() {
        let unnamed =
            ApiError::new(ErrorKind::Authentication, "The sign-in provider did not say who signed in");
        return Err(failed(unnamed));
    }
    let issued = sign_in(service, environment, &person).await.map_err(failed)?;
    let authenticated = Authenticated { person, tokens };
    let answer = client_auth_response(service, &authenticated, issued.as_ref(), query.one("scope"));
    let mut response = axum::Json(answer).into_response();
    if let Some(rotated) = &authenticated.tokens.refresh_token {
        response = with_cookies(response, environment.cookies.set_refresh_token(headers, rotated));
    }
    Ok(response)
}

/// `POST /oidc/logout?env=<env>`: revokes the provider's refresh token where the provider
/// offers revocation, and clears the refresh cookie.
async fn logout(
    State(service): State<AuthService>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = Query::parse(query.as_deref());
    let environment = match check_requested_with(&headers)
        .and_then(|()| provider(&service))
        .and_then(|oidc| oidc.environment(query.one("env")))
    {
        Ok(environment) => environment,
        Err(error) => return error.into_response(),
    };
    if let Some(refresh_token) = environment.cookies.refresh_token(&headers)
        && let Err(error) = environment.client.revoke(&refresh_token).await
    {
        tracing::warn!(%error, "could not revoke an OIDC refresh token");
    }
    let user = service.caller(&headers).await;
    service.audit_sign_out(user.as_deref(), OIDC_PROVIDER_ID).await;
    with_cookies(StatusCode::OK.into_response(), environment.cookies.clear_refresh_token(&headers))
}
