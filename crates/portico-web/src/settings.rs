//! `/settings`: the viewer's theme and identity (kept in cookies), and facts about this
//! portal. The form works without JavaScript (POST, then back to the page); with JavaScript
//! the theme applies the moment it is picked.

use askama::Template;
use axum::Router;
use axum::extract::Form;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::html::{Markup, encode_component};
use crate::query::Query;
use crate::shell::PageContext;
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
    about: &'a [(String, String)],
    saved: bool,
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
        about: &cx.shell.about,
        saved: query.one("saved").is_some(),
    };
    cx.page("Settings", Markup::render(&page))
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
