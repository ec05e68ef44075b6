//! `/settings`: the viewer's theme (kept in a cookie), who they are — the signed-in user with
//! what they own through and when their session ends, or the user entity a visitor who has not
//! signed in chose to act as —, and facts about this portal. The form works without JavaScript
//! (POST, then back to the page); with JavaScript the theme applies the moment it is picked.

use std::time::{SystemTime, UNIX_EPOCH};

use askama::Template;
use axum::Router;
use axum::extract::Form;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::html::{Markup, encode_component};
use crate::principal::UserPrincipal;
use crate::query::Query;
use crate::shell::{PageContext, SIGN_OUT_PATH};
use crate::viewer::{THEME_COOKIE, Theme, USER_COOKIE};

/// One year, in seconds: how long choices are remembered.
const REMEMBER: u32 = 365 * 24 * 3600;

/// `GET /settings` and `POST /settings`.
pub fn router() -> Router {
    Router::new().route("/settings", get(settings_page).post(save_settings))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage<'a> {
    themes: [(&'static str, &'static str, bool); 3],
    user_ref: &'a str,
    signed_in: Option<SignedIn<'a>>,
    /// The sign-in link, when sign-in is served and nobody signed in.
    sign_in: Option<String>,
    about: &'a [(String, String)],
    saved: bool,
}

/// The signed-in user as the settings page shows them.
struct SignedIn<'a> {
    user: &'a UserPrincipal,
    /// When the session ends, `2024-05-01 13:05 UTC`.
    expires: String,
    /// The same as a machine-readable `datetime` (`2024-05-01T13:05:00Z`).
    expires_iso: String,
    /// How long is left, `in 52 minutes`.
    expires_in: String,
    sign_out: &'static str,
}

impl<'a> SignedIn<'a> {
    fn new(user: &'a UserPrincipal, now: u64) -> SignedIn<'a> {
        let (date, time) = utc_date_time(user.expires_at);
        SignedIn {
            user,
            expires: format!("{date} {} UTC", &time[..5]),
            expires_iso: format!("{date}T{time}Z"),
            expires_in: time_left(user.expires_at.saturating_sub(now)),
            sign_out: SIGN_OUT_PATH,
        }
    }
}

/// `in 52 minutes`, `in 3 hours`, `in less than a minute`.
fn time_left(seconds: u64) -> String {
    let minutes = seconds / 60;
    match minutes {
        0 => "in less than a minute".to_owned(),
        1 => "in 1 minute".to_owned(),
        2..=119 => format!("in {minutes} minutes"),
        _ => format!("in {} hours", minutes / 60),
    }
}

/// A Unix time as (`YYYY-MM-DD`, `HH:MM:SS`) in UTC.
fn utc_date_time(seconds: u64) -> (String, String) {
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    let (year, month, day) = crate::time::civil_from_days(days);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}:{:02}", of_day / 3600, of_day % 3600 / 60, of_day % 60),
    )
}

async fn settings_page(cx: PageContext) -> Response {
    let theme = cx.viewer.theme;
    let query = Query::parse(cx.query.as_deref());
    let page = SettingsPage {
        themes: [
            ("system", "Same as my device", theme == Theme::System),
            ("light", "Light", theme == Theme::Light),
            ("dark", "Dark", theme == Theme::Dark),
        ],
        user_ref: cx.viewer.user_ref.as_deref().unwrap_or_default(),
        signed_in: cx.viewer.signed_in().map(|user| SignedIn::new(user, now())),
        sign_in: (cx.shell.sign_in && cx.viewer.signed_in().is_none()).then(|| cx.sign_in_href()),
        about: &cx.shell.about,
        saved: query.one("saved").is_some(),
    };
    cx.page("Settings", Markup::render(&page))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The settings form.
#[derive(Debug, Deserialize)]
struct SettingsForm {
    theme: Option<String>,
    user: Option<String>,
}

fn cookie(name: &str, value: Option<&str>) -> Option<HeaderValue> {
    let text = match value {
        Some(value) => {
            format!("{name}={}; Path=/; Max-Age={REMEMBER}; SameSite=Lax", encode_component(value))
        }
        None => format!("{name}=; Path=/; Max-Age=0; SameSite=Lax"),
    };
    HeaderValue::from_str(&text).ok()
}

async fn save_settings(Form(form): Form<SettingsForm>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/settings?saved=1")]).into_response();
    let headers = response.headers_mut();
    if let Some(theme) = form.theme.as_deref().and_then(Theme::parse) {
        let value = (theme != Theme::System).then_some(theme.as_str());
        headers.extend(cookie(THEME_COOKIE, value).map(|v| (header::SET_COOKIE, v)));
    }
    if let Some(user) = form.user {
        let user = user.trim().to_lowercase();
        let value = (!user.is_empty()).then_some(user.as_str());
        headers.extend(cookie(USER_COOKIE, value).map(|v| (header::SET_COOKIE, v)));
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn times_are_shown_in_utc_with_the_time_left() {
        assert_eq!(utc_date_time(0), ("1970-01-01".to_owned(), "00:00:00".to_owned()));
        assert_eq!(utc_date_time(951_782_400), ("2000-02-29".to_owned(), "00:00:00".to_owned()));
        assert_eq!(utc_date_time(1_714_568_700), ("2024-05-01".to_owned(), "13:05:00".to_owned()));
        assert_eq!(time_left(30), "in less than a minute");
        assert_eq!(time_left(60), "in 1 minute");
        assert_eq!(time_left(52 * 60 + 10), "in 52 minutes");
        assert_eq!(time_left(5 * 3600), "in 5 hours");
    }

    #[tokio::test]
    async fn saving_sets_and_clears_cookies() {
        let post = |body: &'static str| {
            Request::post("/settings")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap()
        };
        let response = router().oneshot(post("theme=dark&user=User%3Adefault%2Fjane")).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookies: Vec<&str> =
            response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(cookies.len(), 2);
        assert!(cookies[0].starts_with("portico-theme=dark;"), "{cookies:?}");
        assert!(cookies[1].starts_with("portico-user=user%3Adefault%2Fjane;"), "{cookies:?}");

        let response = router().oneshot(post("theme=system")).await.unwrap();
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("portico-theme=;") && cookie.contains("Max-Age=0"), "{cookie}");
    }
}
