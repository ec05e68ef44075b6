//! The portal's own sign-in: `GET /sign-in` lists the configured providers, `POST
//! /sign-in/guest` signs in as the guest and keeps the session in a cookie, `POST /sign-out`
//! ends it. Return addresses are pages of this site only; posts are accepted from this site
//! only.

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

use crate::service::AuthService;
use crate::urls::local_path;

/// Where the guest sign-in form posts.
const GUEST_SIGN_IN_PATH: &str = "/sign-in/guest";

/// The sign-in pages.
pub fn router(service: AuthService) -> Router {
    Router::new()
        .route(SIGN_IN_PATH, get(sign_in_page))
        .route(GUEST_SIGN_IN_PATH, post(sign_in_as_guest))
        .route(SIGN_OUT_PATH, post(sign_out))
        .with_state(service)
}

/// A sign-in method as the page lists it.
struct ProviderChoice {
    label: &'static str,
    action: &'static str,
    help: String,
    /// Why it cannot be used here, if it cannot.
    unavailable: Option<&'static str>,
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
    let config = service.config();
    let providers = config
        .guest
        .iter()
        .map(|guest| ProviderChoice {
            label: "Continue as guest",
            action: GUEST_SIGN_IN_PATH,
            help: format!("Signs you in as {}.", guest.user_entity_ref),
            unavailable: (!config.is_development() && !guest.allow_outside_development)
                .then_some("Guest sign-in is turned off outside development."),
        })
        .collect();
    let page = SignInPage {
        app_title: &cx.shell.app_title,
        providers,
        return_to: &return_to,
        signed_in_as: cx.viewer.signed_in().map(|user| user.user_entity_ref.as_str()),
        signed_out: query.one("signedOut").is_some(),
    };
    Ok(cx.page("Sign in", Markup::render(&page)))
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
    let issued = service.sign_in_as_guest().await.map_err(|error| {
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

/// `POST /sign-out`: ends the session, then to the sign-in page.
async fn sign_out(State(service): State<AuthService>, headers: HeaderMap) -> Result<Response, PageError> {
    check_same_origin(&headers)?;
    let mut response = see_other(&format!("{SIGN_IN_PATH}?signedOut=1"));
    response.headers_mut().append(header::SET_COOKIE, service.clear_session_cookie());
    Ok(response)
}
