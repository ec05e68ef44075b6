//! The portal's own sign-in: `GET /sign-in` lists the configured providers, `POST
//! /sign-in/guest` signs in as the guest and keeps the session in a cookie, the OpenID Connect
//! provider's redirect flow comes back through `GET /sign-in/done` (its handler set the
//! cookie), and `POST /sign-out` ends the session. Return addresses are pages of this site
//! only; posts are accepted from this site only.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use portico_web::{
    ErrorKind, Markup, PageContext, PageError, Query, SIGN_IN_PATH, SIGN_OUT_PATH, check_same_origin,
    see_other,
};
use serde::Deserialize;

use crate::oidc::OIDC_PROVIDER_ID;
use crate::resolvers::SIGN_IN_UNRESOLVED;
use crate::service::{AuthService, SignInOutcome};
use crate::urls::{encode, local_path};

/// Where the guest sign-in form posts.
const GUEST_SIGN_IN_PATH: &str = "/sign-in/guest";
/// Where a provider's redirect flow started from the sign-in page comes back to.
const SIGN_IN_DONE_PATH: &str = "/sign-in/done";

/// The sign-in pages.
pub fn router(service: AuthService) -> Router {
    Router::new()
        .route(SIGN_IN_PATH, get(sign_in_page))
        .route(GUEST_SIGN_IN_PATH, post(sign_in_as_guest))
        .route(SIGN_IN_DONE_PATH, get(sign_in_done))
        .route(SIGN_OUT_PATH, post(sign_out))
        .with_state(service)
}

/// How a sign-in method is started.
enum Start {
    /// A form posting `returnTo` to this path.
    Form(&'static str),
    /// A link to the provider's start route.
    Link(String),
}

/// A sign-in method as the page lists it.
struct ProviderChoice {
    /// `guest`, `oidc`: the id tests and styles find it by.
    id: &'static str,
    label: &'static str,
    start: Start,
    help: String,
    /// Why it cannot be used here, if it cannot.
    unavailable: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    app_title: &'a str,
    providers: Vec<ProviderChoice>,
    return_to: &'a str,
    signed_in_as: Option<&'a str>,
    signed_out: bool,
}

/// The page to go back to after signing in: `/` when none is given; an address off this
/// site is refused.
fn return_to(requested: Option<&str>, service: &AuthService) -> Result<String, PageError> {
    let Some(requested) = requested.filter(|text| !text.is_empty()) else { return Ok("/".to_owned()) };
    let path = local_path(requested, &service.config().app_origin).ok_or_else(|| {
        PageError::bad_request(
            "The address to return to after signing in is not a page of this portal, so it is not followed.",
        )
        .link("Sign in and go to the home page", SIGN_IN_PATH)
    })?;
    // Coming back to the sign-in page itself would only show it again.
    Ok(if path == SIGN_IN_PATH || path.starts_with("/sign-in?") { "/".to_owned() } else { path })
}

/// `GET /sign-in?returnTo=/catalog`.
async fn sign_in_page(State(service): State<AuthService>, cx: PageContext) -> Result<Response, PageError> {
    let query = Query::parse(cx.query.as_deref());
    let return_to = return_to(query.one("returnTo"), &service)?;
    let mut providers: Vec<ProviderChoice> = oidc_choice(&service, &return_to).into_iter().collect();
    let config = service.config();
    providers.extend(config.guest.iter().map(|guest| {
        ProviderChoice {
            id: "guest",
            label: "Continue as guest",
            start: Start::Form(GUEST_SIGN_IN_PATH),
            help: format!("Signs you in as {}.", guest.user_entity_ref),
            unavailable: (!config.is_development() && !guest.allow_outside_development)
                .then(|| "Guest sign-in is turned off outside development.".to_owned()),
        }
    }));
    let page = SignInPage {
        app_title: &cx.shell.app_title,
        providers,
        return_to: &return_to,
        signed_in_as: cx.viewer.signed_in().map(|user| user.user_entity_ref.as_str()),
        signed_out: query.one("signedOut").is_some(),
    };
    Ok(cx.page("Sign in", Markup::render(&page)))
}

/// The OpenID Connect provider on the sign-in page: a link starting its redirect flow in the
/// portal's environment, coming back to `/sign-in/done` and from there to `return_to`.
fn oidc_choice(service: &AuthService, return_to: &str) -> Option<ProviderChoice> {
    let oidc = service.oidc()?;
    let config = service.config();
    let environment = oidc.get(&config.environment);
    let host = environment
        .and_then(|environment| url::Url::parse(&environment.client.settings().metadata_url).ok())
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let unavailable = match environment {
        None => Some(format!(
            "OpenID Connect sign-in is not configured for the '{}' environment.",
            config.environment
        )),
        Some(environment) if environment.client.settings().resolvers.is_empty() => Some(
            "OpenID Connect sign-in has no sign-in resolver (signIn.resolvers), so it cannot tell who you are here."
                .to_owned(),
        ),
        Some(_) => None,
    };
    let done = format!("{}{SIGN_IN_DONE_PATH}?returnTo={}", config.app_origin, encode(return_to));
    let start = format!(
        "{}/{OIDC_PROVIDER_ID}/start?env={}&origin={}&flow=redirect&redirectUrl={}",
        config.issuer,
        encode(&config.environment),
        encode(&config.app_origin),
        encode(&done)
    );
    Some(ProviderChoice {
        id: OIDC_PROVIDER_ID,
        label: "Sign in with OpenID Connect",
        start: Start::Link(start),
        help: format!("Signs you in with your account at {host}."),
        unavailable,
    })
}

/// `GET /sign-in/done?returnTo=/catalog[&error=...]`: where the portal's own redirect flow
/// ends. Signed in, it goes on to `returnTo`; refused, it says why and what to do next.
async fn sign_in_done(State(service): State<AuthService>, cx: PageContext) -> Result<Response, PageError> {
    let query = Query::parse(cx.query.as_deref());
    let return_to = return_to(query.one("returnTo"), &service)?;
    let try_again = format!("{SIGN_IN_PATH}?returnTo={}", encode(&return_to));
    if let Some(error) = query.one("error") {
        let message = if error == SIGN_IN_UNRESOLVED {
            format!(
                "{SIGN_IN_UNRESOLVED}. The sign-in provider knows you, but this portal's catalog has no user that matches your account. Ask a portal administrator to add you to the catalog, or sign in another way."
            )
        } else {
            format!("{error}. Try signing in again, or sign in another way.")
        };
        return Err(PageError::new(StatusCode::FORBIDDEN, "You could not be signed in", message)
            .link("Try another sign-in method", try_again)
            .link("Go to the home page", "/"));
    }
    if cx.viewer.signed_in().is_none() {
        return Err(PageError::new(
            StatusCode::UNAUTHORIZED,
            "You are not signed in",
            "The sign-in did not leave a session in this browser. Check that it accepts cookies from this site, then sign in again.",
        )
        .link("Sign in again", try_again));
    }
    Ok(see_other(&return_to))
}

/// The guest sign-in form.
#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
}

/// `POST /sign-in/guest`: signs in as the configured guest, then back to `returnTo`.
async fn sign_in_as_guest(
    State(service): State<AuthService>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    check_same_origin(&headers)?;
    let target = return_to(form.return_to.as_deref(), &service)?;
    let signed_in = service.sign_in_as_guest().await;
    let outcome = match &signed_in {
        Ok(issued) => SignInOutcome::Succeeded { user: &issued.principal.user_entity_ref },
        Err(error) => SignInOutcome::Failed { claimed: None, reason: &error.message },
    };
    service.audit_sign_in("guest", "form", outcome).await;
    let issued = signed_in.map_err(|error| {
        let title = match error.kind {
            ErrorKind::NotImplemented => "Guest sign-in is turned off",
            ErrorKind::NotFound => "Guest sign-in is not configured",
            _ => "You could not be signed in",
        };
        PageError::new(error.kind.status(), title, error.message).link("Back to sign-in", SIGN_IN_PATH)
    })?;
    let cookie = service.session_cookie(&issued).ok_or_else(|| {
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "You could not be signed in",
            "Your user is a member of so many groups that the session does not fit into a browser cookie.",
        )
    })?;
    let mut response = see_other(&target);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /sign-out`: ends the session — and the OpenID Connect provider's refresh cookie, so
/// that the app cannot renew it —, then to the sign-in page.
async fn sign_out(
    State(service): State<AuthService>,
    cx: PageContext,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    check_same_origin(&headers)?;
    let user = cx.viewer.signed_in().map(|user| user.user_entity_ref.as_str());
    service.audit_sign_out(user, "session").await;
    let mut response = see_other(&format!("{SIGN_IN_PATH}?signedOut=1"));
    response.headers_mut().append(header::SET_COOKIE, service.clear_session_cookie());
    if let Some(cookies) = service.oidc().and_then(|oidc| oidc.cookies()) {
        for cookie in cookies.clear_refresh_token(&headers) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    Ok(response)
}
