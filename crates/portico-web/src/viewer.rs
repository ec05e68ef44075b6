//! Who is looking: the viewer's choices, kept in cookies so they work without JavaScript and
//! survive reloads — the theme and the user entity they act as —, who signed in, and the
//! identity their per-user data (stars) is kept under.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use percent_encoding::percent_decode_str;

use crate::principal::{Principal, UserPrincipal};

/// Cookie holding the chosen theme (`light` / `dark`; absent means "follow the system").
pub const THEME_COOKIE: &str = "portico-theme";
/// Cookie holding the viewer's user entity ref (`user:default/jane`).
pub const USER_COOKIE: &str = "portico-user";
/// The user every visitor who has not signed in is: their per-user data is kept under this ref.
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

/// The viewer's choices, read from the request's cookies, and who signed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    pub theme: Theme,
    /// The user entity the viewer acts as (lowercased canonical ref): the signed-in user, or
    /// the one chosen on the settings page. Pages use it to look the user up in the catalog.
    pub user_ref: Option<String>,
    /// Who sent the request, as the identity middleware established it.
    pub principal: Principal,
}

impl Viewer {
    /// Reads the viewer's cookies and the [`Principal`] the identity middleware put into the
    /// request; a signed-in user replaces the user entity chosen in the settings.
    pub fn from_parts(parts: &Parts) -> Viewer {
        let mut viewer = Viewer::from_headers(&parts.headers);
        viewer.principal = parts.extensions.get::<Principal>().cloned().unwrap_or_default();
        if let Some(user) = viewer.principal.user() {
            viewer.user_ref = Some(user.user_entity_ref.to_lowercase());
        }
        viewer
    }

    /// Reads only the viewer's cookies (no one is signed in); malformed values are ignored.
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

    /// The identity per-user data (starred entities) and created tasks are kept under: the
    /// signed-in user, otherwise the guest user. This is the one place that decides it.
    pub fn identity(&self) -> &str {
        self.signed_in().map_or(GUEST_USER, |user| user.user_entity_ref.as_str())
    }

    /// The signed-in user, if any.
    pub fn signed_in(&self) -> Option<&UserPrincipal> {
        self.principal.user()
    }

    /// What the signed-in user owns through (the user and its groups, from their token);
    /// `None` when nobody signed in.
    pub fn ownership_refs(&self) -> Option<&[String]> {
        self.signed_in().map(|user| user.ownership_entity_refs.as_slice())
    }
}

/// The viewer of the request ([`Viewer::from_parts`]).
impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Viewer::from_parts(parts))
    }
}

fn decode(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

/// The `name=value` pairs of every `Cookie` header of a request (values trimmed, quotes removed).
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
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
    fn a_signed_in_user_is_the_identity_and_replaces_the_chosen_user() {
        let request = axum::http::Request::get("/")
            .header(header::COOKIE, "portico-user=user%3Adefault%2Fjane")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        assert_eq!(Viewer::from_parts(&parts).identity(), GUEST_USER);
        assert_eq!(Viewer::from_parts(&parts).ownership_refs(), None);

        let user = UserPrincipal {
            user_entity_ref: "user:default/Joe".into(),
            ownership_entity_refs: vec!["user:default/joe".into(), "group:default/team-a".into()],
            expires_at: 1_700_000_000,
        };
        parts.extensions.insert(Principal::User(user));
        let viewer = Viewer::from_parts(&parts);
        assert_eq!(viewer.identity(), "user:default/Joe");
        assert_eq!(viewer.user_ref.as_deref(), Some("user:default/joe"));
        assert_eq!(
            viewer.ownership_refs(),
            Some(["user:default/joe".to_owned(), "group:default/team-a".to_owned()].as_slice())
        );

        parts.extensions.insert(Principal::Service(crate::principal::ServicePrincipal {
            subject: "ci-bot".into(),
            access_restrictions: None,
        }));
        let viewer = Viewer::from_parts(&parts);
        assert_eq!(viewer.identity(), GUEST_USER, "a service is not a signed-in person");
        assert_eq!(viewer.user_ref.as_deref(), Some("user:default/jane"));
    }

    #[test]
    fn unknown_theme_follows_the_system() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("portico-theme=neon"));
        assert_eq!(Viewer::from_headers(&headers), Viewer::default());
    }
}
