//! What the OAuth sign-in providers share (other-apis.md §4.1–4.2): the `state` parameter and
//! its nonce, the PKCE verifier, the provider's cookies, and handing the result to the app —
//! as the popup page, or by redirecting back to one of its pages.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portico_web::{ApiError, ErrorKind};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};

use crate::popup::popup_page;
use crate::urls::{encode, same_origin_target};

/// How long a started sign-in may take before its nonce cookie expires.
const FLOW_COOKIE_MAX_AGE: u64 = 600;
/// How long the refresh cookie lives when `sessionDuration` is not set: 1000 days.
const DEFAULT_REFRESH_MAX_AGE: u64 = 1000 * 86_400;
/// Longer cookie values are split into `<name>-0`, `<name>-1`, ...
const MAX_COOKIE_CHUNK: usize = 4_000;

/// The `state` parameter: which environment and app a sign-in belongs to, sent to the
/// provider and back as the hex encoding of a URL-encoded query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthState {
    pub nonce: String,
    pub env: String,
    pub origin: Option<String>,
    pub scope: Option<String>,
    pub redirect_url: Option<String>,
    pub flow: Option<String>,
}

impl OAuthState {
    /// `hex(nonce=...&env=...&origin=...&scope=...&redirectUrl=...&flow=...)`, absent keys
    /// left out.
    pub fn encode(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("nonce", &self.nonce).append_pair("env", &self.env);
        let optional = [
            ("origin", &self.origin),
            ("scope", &self.scope),
            ("redirectUrl", &self.redirect_url),
            ("flow", &self.flow),
        ];
        for (name, value) in optional {
            if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
                query.append_pair(name, value);
            }
        }
        hex::encode(query.finish())
    }

    /// Reads a `state` back: `403 NotAllowedError` when it has no `env` or `nonce` (which is
    /// also what undecodable text amounts to).
    pub fn decode(text: &str) -> Result<OAuthState, ApiError> {
        let bytes = hex::decode(text).unwrap_or_default();
        let mut state = OAuthState {
            nonce: String::new(),
            env: String::new(),
            origin: None,
            scope: None,
            redirect_url: None,
            flow: None,
        };
        for (name, value) in url::form_urlencoded::parse(&bytes) {
            let value = value.into_owned();
            match name.as_ref() {
                "nonce" => state.nonce = value,
                "env" => state.env = value,
                "origin" => state.origin = Some(value),
                "scope" => state.scope = Some(value),
                "redirectUrl" => state.redirect_url = Some(value),
                "flow" => state.flow = Some(value),
                _ => {}
            }
        }
        if state.env.is_empty() {
            return Err(ApiError::not_allowed("OAuth state is invalid, missing env"));
        }
        if state.nonce.is_empty() {
            return Err(ApiError::not_allowed("OAuth state is invalid, missing nonce"));
        }
        Ok(state)
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    // The system's random source failing is not something a request can recover from.
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    bytes
}

/// A new nonce: 16 random bytes, base64.
pub(crate) fn new_nonce() -> String {
    STANDARD.encode(random_bytes::<16>())
}

/// A new PKCE code verifier (RFC 7636): 32 random bytes, base64url — 43 characters.
pub(crate) fn new_code_verifier() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// The `S256` code challenge of a verifier.
pub(crate) fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()))
}

/// The value of the cookie `name` in a request's `Cookie` headers, if it is there and not
/// empty.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    portico_web::cookies(headers)
        .find(|(cookie_name, _)| *cookie_name == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The cookies of one OAuth provider: the nonce and PKCE verifier of a sign-in in progress
/// (sent to its handler only), and the provider's refresh token (sent to its routes only). All
/// `HttpOnly`; `Secure` when the callback is https; `SameSite=None` only where the app and the
/// auth routes live on different hosts over https, `Lax` otherwise.
#[derive(Debug, Clone)]
pub(crate) struct ProviderCookies {
    provider: &'static str,
    /// `/api/auth/<provider>`.
    provider_path: String,
    attributes: String,
    refresh_max_age: u64,
}

impl ProviderCookies {
    /// The cookies of `provider`, whose routes live under `auth_base_url` and whose callback is
    /// `callback_url`, for the app at `app_origin`.
    pub fn new(
        provider: &'static str,
        auth_base_url: &str,
        callback_url: &str,
        app_origin: &str,
        session_duration: Option<std::time::Duration>,
    ) -> ProviderCookies {
        let auth_path = url::Url::parse(auth_base_url).map(|url| url.path().trim_end_matches('/').to_owned());
        let callback = url::Url::parse(callback_url).ok();
        let secure = callback.as_ref().is_some_and(|url| url.scheme() == "https");
        let app_host = url::Url::parse(app_origin).ok().and_then(|url| url.host_str().map(str::to_owned));
        let same_host = callback.as_ref().and_then(|url| url.host_str()) == app_host.as_deref();
        let same_site = if secure && !same_host { "None" } else { "Lax" };
        ProviderCookies {
            provider,
            provider_path: format!("{}/{provider}", auth_path.unwrap_or_default()),
            attributes: format!("HttpOnly; SameSite={same_site}{}", if secure { "; Secure" } else { "" }),
            refresh_max_age: session_duration.map_or(DEFAULT_REFRESH_MAX_AGE, |duration| duration.as_secs()),
        }
    }

    pub fn nonce_name(&self) -> String {
        format!("{}-nonce", self.provider)
    }

    pub fn verifier_name(&self) -> String {
        format!("{}-code-verifier", self.provider)
    }

    pub fn refresh_name(&self) -> String {
        format!("{}-refresh-token", self.provider)
    }

    fn cookie(&self, name: &str, value: &str, path: &str, max_age: u64) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{name}={value}; Path={path}; Max-Age={max_age}; {}", self.attributes))
            .ok()
    }

    fn handler_path(&self) -> String {
        format!("{}/handler", self.provider_path)
    }

    /// `Set-Cookie`s starting a sign-in: its nonce and PKCE verifier, for ten minutes.
    pub fn start_flow(&self, nonce: &str, verifier: &str) -> Vec<HeaderValue> {
        let path = self.handler_path();
        [(self.nonce_name(), nonce), (self.verifier_name(), verifier)]
            .into_iter()
            .filter_map(|(name, value)| self.cookie(&name, value, &path, FLOW_COOKIE_MAX_AGE))
            .collect()
    }

    /// `Set-Cookie`s ending a sign-in: its nonce and verifier are used up.
    pub fn end_flow(&self) -> Vec<HeaderValue> {
        let path = self.handler_path();
        [self.nonce_name(), self.verifier_name()]
            .into_iter()
            .filter_map(|name| self.cookie(&name, "", &path, 0))
            .collect()
    }

    /// The refresh token the request's cookies hold, re-joined when it was split.
    pub fn refresh_token(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.refresh_name();
        if let Some(whole) = cookie(headers, &name) {
            return Some(whole.to_owned());
        }
        let mut joined = String::new();
        for index in 0.. {
            match cookie(headers, &format!("{name}-{index}")) {
                Some(chunk) => joined.push_str(chunk),
                None => break,
            }
        }
        (!joined.is_empty()).then_some(joined)
    }

    /// `Set-Cookie`s keeping `token` as the refresh token — in one cookie, or split into
    /// chunks when it is long — and removing the other form the request still carries.
    pub fn set_refresh_token(&self, request: &HeaderMap, token: &str) -> Vec<HeaderValue> {
        let name = self.refresh_name();
        let path = &self.provider_path;
        let mut cookies = self.clear_refresh_token(request);
        let mut set = |name: &str, value: &str| {
            cookies.retain(|cookie| !cookie.as_bytes().starts_with(format!("{name}=").as_bytes()));
            cookies.extend(self.cookie(name, value, path, self.refresh_max_age));
        };
        if token.len() <= MAX_COOKIE_CHUNK {
            set(&name, token);
        } else {
            // Refresh tokens are ASCII, so any byte offset is a character boundary.
            for (index, chunk) in token.as_bytes().chunks(MAX_COOKIE_CHUNK).enumerate() {
                set(&format!("{name}-{index}"), std::str::from_utf8(chunk).unwrap_or_default());
            }
        }
        cookies
    }

    /// `Set-Cookie`s removing the refresh token: the whole cookie, and every chunk the request
    /// carries.
    pub fn clear_refresh_token(&self, request: &HeaderMap) -> Vec<HeaderValue> {
        let name = self.refresh_name();
        let chunks =
            (0..).map(|index| format!("{name}-{index}")).take_while(|chunk| cookie(request, chunk).is_some());
        std::iter::once(name.clone())
            .chain(chunks)
            .filter_map(|name| self.cookie(&name, "", &self.provider_path, 0))
            .collect()
    }
}

/// Where the result of a sign-in goes: the popup page (Backstage's default flow), or a
/// redirect to a page of the app (`flow=redirect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    Popup,
    /// The absolute URL of the app page to return to.
    Redirect(String),
}

impl Delivery {
    /// The delivery `flow` and `redirectUrl` ask for: a redirect needs a `redirectUrl` on
    /// the app's origin (`400` without one, `403` for any other).
    pub fn new(
        flow: Option<&str>,
        redirect_url: Option<&str>,
        app_origin: &str,
    ) -> Result<Delivery, ApiError> {
        if flow != Some("redirect") {
            return Ok(Delivery::Popup);
        }
        let redirect = redirect_url
            .ok_or_else(|| ApiError::input("No redirectUrl provided in request query parameters"))?;
        same_origin_target(redirect, app_origin)
            .map(Delivery::Redirect)
            .ok_or_else(|| ApiError::not_allowed(format!("Redirect URL '{redirect}' is not allowed")))
    }

    /// The flow's name, as the audit log records it.
    pub fn flow(&self) -> &'static str {
        match self {
            Delivery::Popup => "popup",
            Delivery::Redirect(_) => "redirect",
        }
    }

    /// A successful sign-in: the popup page posting `response`, or the redirect back.
    pub fn success(&self, app_origin: &str, response: Value) -> Response {
        match self {
            Delivery::Popup => {
                popup_page(app_origin, &json!({"type": "authorization_response", "response": response}))
            }
            Delivery::Redirect(target) => redirect(target),
        }
    }

    /// A failed sign-in: the popup page posting the error, or the redirect back with
    /// `?error=<message>`.
    pub fn failure(&self, app_origin: &str, error: &ApiError) -> Response {
        match self {
            Delivery::Popup => popup_page(
                app_origin,
                &json!({"type": "authorization_response", "error": {"name": error.kind.name(), "message": error.message}}),
            ),
            Delivery::Redirect(target) => {
                let separator = if target.contains('?') { '&' } else { '?' };
                redirect(&format!("{target}{separator}error={}", encode(&error.message)))
            }
        }
    }
}

/// `302 Found` to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => ApiError::new(ErrorKind::Input, "Invalid redirect URL").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://portal.test:7007";

    #[test]
    fn state_is_the_hex_of_a_query_string_and_reads_back() {
        let state = OAuthState {
            nonce: "n0nce+/=".into(),
            env: "development".into(),
            origin: Some(ORIGIN.into()),
            scope: Some("openid email".into()),
            redirect_url: None,
            flow: Some("popup".into()),
        };
        let encoded = state.encode();
        let text = String::from_utf8(hex::decode(&encoded).expect("hex")).expect("utf-8");
        assert_eq!(
            text,
            "nonce=n0nce%2B%2F%3D&env=development&origin=http%3A%2F%2Fportal.test%3A7007&scope=openid+email&flow=popup"
        );
        assert_eq!(OAuthState::decode(&encoded).expect("valid"), state);
    }

    #[test]
    fn states_without_env_or_nonce_are_refused() {
        let missing_env = hex::encode("nonce=abc");
        let missing_nonce = hex::encode("env=development");
        for (text, message) in [
            (missing_env.as_str(), "OAuth state is invalid, missing env"),
            (missing_nonce.as_str(), "OAuth state is invalid, missing nonce"),
            ("not hex at all", "OAuth state is invalid, missing env"),
        ] {
            let error = OAuthState::decode(text).expect_err(text);
            assert_eq!((error.kind, error.message.as_str()), (ErrorKind::NotAllowed, message));
        }
    }

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let verifier = new_code_verifier();
        assert_eq!(verifier.len(), 43);
        assert_ne!(verifier, new_code_verifier());
        assert_eq!(STANDARD.decode(new_nonce()).expect("base64").len(), 16);
    }

    fn cookies_of(values: &[HeaderValue]) -> Vec<String> {
        values.iter().map(|value| value.to_str().expect("ascii").to_owned()).collect()
    }

    #[test]
    fn cookie_attributes_follow_the_callback_and_app_hosts() {
        let local = ProviderCookies::new(
            "oidc",
            "http://portal.test:7007/api/auth",
            "http://portal.test:7007/api/auth/oidc/handler/frame",
            ORIGIN,
            None,
        );
        assert_eq!(
            cookies_of(&local.start_flow("n", "v")),
            [
                "oidc-nonce=n; Path=/api/auth/oidc/handler; Max-Age=600; HttpOnly; SameSite=Lax",
                "oidc-code-verifier=v; Path=/api/auth/oidc/handler; Max-Age=600; HttpOnly; SameSite=Lax",
            ]
        );
        let split = ProviderCookies::new(
            "oidc",
            "https://api.example/api/auth",
            "https://api.example/api/auth/oidc/handler/frame",
            "https://portal.example",
            Some(std::time::Duration::from_secs(3600)),
        );
        assert_eq!(
            cookies_of(&split.set_refresh_token(&HeaderMap::new(), "rt")),
            ["oidc-refresh-token=rt; Path=/api/auth/oidc; Max-Age=3600; HttpOnly; SameSite=None; Secure"]
        );
    }

    #[test]
    fn long_refresh_tokens_are_split_and_joined_and_old_forms_removed() {
        let cookies = ProviderCookies::new(
            "oidc",
            "http://p.test/api/auth",
            "http://p.test/api/auth/oidc/handler/frame",
            "http://p.test",
            None,
        );
        let long = "r".repeat(9_000);
        let set = cookies_of(&cookies.set_refresh_token(&HeaderMap::new(), &long));
        let names: Vec<&str> = set.iter().map(|cookie| cookie.split('=').next().unwrap()).collect();
        assert_eq!(
            names,
            ["oidc-refresh-token", "oidc-refresh-token-0", "oidc-refresh-token-1", "oidc-refresh-token-2"]
        );
        assert!(set[0].contains("Max-Age=0"), "the unsplit form is removed: {}", set[0]);
        let mut request = HeaderMap::new();
        let pairs: Vec<String> =
            set[1..].iter().map(|cookie| cookie.split(';').next().unwrap().to_owned()).collect();
        request.insert(header::COOKIE, HeaderValue::from_str(&pairs.join("; ")).unwrap());
        assert_eq!(cookies.refresh_token(&request).as_deref(), Some(long.as_str()));

        let short = cookies_of(&cookies.set_refresh_token(&request, "short"));
        assert_eq!(short.len(), 4, "{short:?}");
        assert!(
            short.iter().filter(|cookie| cookie.contains("Max-Age=0")).count() == 3,
            "chunks removed: {short:?}"
        );
        assert!(short.iter().any(|cookie| cookie.starts_with("oidc-refresh-token=short;")));
    }

    #[test]
    fn delivery_redirects_only_to_the_app() {
        assert_eq!(Delivery::new(None, None, ORIGIN).expect("popup"), Delivery::Popup);
        assert_eq!(
            Delivery::new(Some("redirect"), Some("/catalog?x=1"), ORIGIN).expect("on-site"),
            Delivery::Redirect(format!("{ORIGIN}/catalog?x=1"))
        );
        let off_site =
            Delivery::new(Some("redirect"), Some("https://evil.test/"), ORIGIN).expect_err("off-site");
        assert_eq!(off_site.kind, ErrorKind::NotAllowed);
        assert_eq!(
            Delivery::new(Some("redirect"), None, ORIGIN).expect_err("missing").kind,
            ErrorKind::Input
        );
        let failure = Delivery::Redirect(format!("{ORIGIN}/done?returnTo=%2F"))
            .failure(ORIGIN, &ApiError::not_allowed("No & way"));
        assert_eq!(
            failure.headers()[header::LOCATION],
            format!("{ORIGIN}/done?returnTo=%2F&error=No%20%26%20way")
        );
    }
}
