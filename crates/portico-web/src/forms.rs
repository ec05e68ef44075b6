//! Form posts that change state: a cross-site request check and the redirect that ends a
//! successful post.
//!
//! Pages are used without sign-in and without cookies that authenticate, so a forged post
//! gains nothing a visitor could not do; still, another site must not make a visitor's browser
//! register or remove catalog locations. Browsers send `Sec-Fetch-Site` (and `Origin` on every
//! POST), which is enough to refuse cross-site posts without tokens.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::page_error::PageError;

/// Refuses a state-changing request that another site started: `Sec-Fetch-Site` must be
/// `same-origin` (or `none`, typed by the user), and an `Origin` header must name this host.
/// Requests with neither header (non-browser clients) pass: they cannot be forged by a page.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let forbidden = || {
        PageError::new(
            StatusCode::FORBIDDEN,
            "This form was sent from another site",
            "For your safety, changes are only accepted from Portico's own pages. Open the page again and submit the form from there.",
        )
        .link("Go to the home page", "/")
    };
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str().unwrap_or_default(), "same-origin" | "none")
    {
        return Err(forbidden());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin == "null" || host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err(forbidden());
        }
    }
    Ok(())
}

/// `303 See Other` to `location`: after a successful post the browser loads the result with a
/// GET, so reloading does not post again (htmx follows the redirect the same way).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_origin_posts_pass() {
        assert!(check_same_origin(&headers(&[])).is_ok());
        assert!(
            check_same_origin(&headers(&[
                ("host", "portal.test:7007"),
                ("origin", "http://portal.test:7007"),
                ("sec-fetch-site", "same-origin"),
            ]))
            .is_ok()
        );
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(
            check_same_origin(&headers(&[("host", "portal.test"), ("origin", "https://evil.test")])).is_err()
        );
        assert!(check_same_origin(&headers(&[("host", "portal.test"), ("origin", "null")])).is_err());
    }
}
