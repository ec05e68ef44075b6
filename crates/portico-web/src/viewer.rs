//! Who is looking: the viewer's choices, kept in cookies so they work without JavaScript and
//! survive reloads — the theme and the user entity they act as — and the identity their
//! per-user data (stars) is kept under.

use axum::http::{HeaderMap, header};
use percent_encoding::percent_decode_str;

/// Cookie holding the chosen theme (`light` / `dark`; absent means "follow the system").
pub const THEME_COOKIE: &str = "portico-theme";
/// Cookie holding the viewer's user entity ref (`user:default/jane`).
pub const USER_COOKIE: &str = "portico-user";
/// The user every visitor is until sign-in exists: per-user data is kept under this ref.
pub const GUEST_USER: &str = "user:default/guest";

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follow the operating system's setting.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// Parses `system`, `light` or `dark`.
    pub fn parse(text: &str) -> Option<Theme> {
        match text {
            "system" => Some(Theme::System),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    /// `system`, `light` or `dark`.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// The viewer's choices, read from the request's cookies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    pub theme: Theme,
    /// The user entity the viewer acts as (lowercased canonical ref), if chosen; decides what
    /// "owned by me" means in lists.
    pub user_ref: Option<String>,
}

impl Viewer {
    /// Reads the viewer's cookies; malformed values are ignored.
    pub fn from_headers(headers: &HeaderMap) -> Viewer {
        let mut viewer = Viewer::default();
        for (name, value) in cookies(headers) {
            match name {
                THEME_COOKIE => viewer.theme = Theme::parse(value).unwrap_or_default(),
                USER_COOKIE => {
                    let decoded = decode(value).trim().to_lowercase();
                    viewer.user_ref = (!decoded.is_empty()).then_some(decoded);
                }
                _ => {}
            }
        }
        viewer
    }

    /// The identity per-user data (starred entities) is stored under. Without sign-in every
    /// visitor is the guest user; this is the one place that decides it, so that sign-in only
    /// has to change this method.
    pub fn identity(&self) -> &str {
        GUEST_USER
    }
}

fn decode(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

/// The `name=value` pairs of every `Cookie` header.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(name, value)| (name.trim(), value.trim().trim_matches('"')))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn reads_theme_and_user_from_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; portico-theme=dark; portico-user=User%3Adefault%2Fjane"),
        );
        let viewer = Viewer::from_headers(&headers);
        assert_eq!(viewer.theme, Theme::Dark);
        assert_eq!(viewer.user_ref.as_deref(), Some("user:default/jane"));
        assert_eq!(viewer.identity(), GUEST_USER);
    }

    #[test]
    fn unknown_theme_follows_the_system() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("portico-theme=neon"));
        assert_eq!(Viewer::from_headers(&headers), Viewer::default());
    }
}
