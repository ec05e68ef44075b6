//! Static assets embedded in the binary, served under content-hashed names.
//!
//! Every asset's URL carries the first 10 hex digits of the SHA-1 of its bytes
//! (`/assets/portico.3f2a9c01de.css`), so responses can be cached for a year: a changed file
//! gets a new URL. Only the hashed name is served.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha1::{Digest, Sha1};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The name it is referred to by in templates (`portico.css`).
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// Hashed on first use: hashing reads every byte, and reading the 3.5 MB diagram bundle
    /// would keep its pages of the binary resident in a portal that never shows a diagram.
    hashed_name: OnceLock<String>,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        Asset { name, content_type, bytes, hashed_name: OnceLock::new() }
    }

    /// The name it is served under (`portico.<hash>.css`).
    pub fn hashed_name(&self) -> &str {
        self.hashed_name.get_or_init(|| {
            let digest = hex::encode(Sha1::digest(self.bytes));
            let (stem, ext) = self.stem_and_extension();
            format!("{stem}.{}{ext}", &digest[..HASH_DIGITS])
        })
    }

    /// The URL the asset is served at.
    pub fn url(&self) -> String {
        format!("/assets/{}", self.hashed_name())
    }

    /// Whether `file` has the shape of this asset's hashed name, checked before hashing so
    /// that a request for one asset never hashes another.
    fn could_be(&self, file: &str) -> bool {
        let (stem, ext) = self.stem_and_extension();
        file.len() == self.name.len() + 1 + HASH_DIGITS
            && file.strip_prefix(stem).is_some_and(|rest| rest.starts_with('.'))
            && file.ends_with(ext)
    }

    /// The name split before its first dot; the extension keeps the dot (`.min.js`).
    fn stem_and_extension(&self) -> (&'static str, &'static str) {
        self.name.find('.').map_or((self.name, ""), |dot| self.name.split_at(dot))
    }
}

/// Hex digits of the SHA-1 a served name carries.
const HASH_DIGITS: usize = 10;

static ASSETS: [Asset; 5] = [
    Asset::new("portico.css", "text/css; charset=utf-8", include_bytes!("../assets/portico.css")),
    Asset::new("portico.js", "text/javascript; charset=utf-8", include_bytes!("../assets/portico.js")),
    Asset::new("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/htmx.min.js")),
    // Only documentation pages with diagrams load it.
    Asset::new(
        "mermaid.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/mermaid.min.js"),
    ),
    Asset::new("favicon.svg", "image/svg+xml", include_bytes!("../assets/favicon.svg")),
];

/// Every embedded asset.
pub fn all() -> &'static [Asset] {
    &ASSETS
}

/// The URL of an embedded asset by its plain name; `/assets/<name>` (a 404) for an unknown
/// name, which tests catch.
pub fn url(name: &str) -> String {
    all().iter().find(|a| a.name == name).map_or_else(|| format!("/assets/{name}"), Asset::url)
}

/// `GET /assets/{file}`: the embedded assets, cached for a year.
pub fn router() -> Router {
    Router::new().route("/assets/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = all().iter().find(|a| a.could_be(&file) && a.hashed_name() == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn urls_carry_a_content_hash() {
        let css = url("portico.css");
        assert!(css.starts_with("/assets/portico.") && css.ends_with(".css"), "{css}");
        assert_eq!(css.len(), "/assets/portico..css".len() + 10);
    }

    #[tokio::test]
    async fn serves_hashed_names_with_long_cache() {
        let response =
            router().oneshot(Request::get(url("htmx.min.js")).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), include_bytes!("../assets/htmx.min.js").len());

        let plain = router().oneshot(Request::get("/assets/htmx.min.js").body(Body::empty()).unwrap()).await;
        assert_eq!(plain.unwrap().status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_request_hashes_only_the_asset_its_name_could_be() {
        let [css, _, htmx, mermaid, favicon] = &ASSETS;
        let css_name = css.hashed_name().to_owned();
        assert!(css.could_be(&css_name));
        assert!(!mermaid.could_be(&css_name) && !htmx.could_be(&css_name) && !favicon.could_be(&css_name));
        assert!(mermaid.could_be("mermaid.0123456789.min.js"));
        assert!(!mermaid.could_be("mermaid.min.js") && !mermaid.could_be("mermaidx.0123456789.min.js"));

        // The right shape with the wrong hash is not served.
        let stale = Request::get("/assets/portico.0000000000.css").body(Body::empty()).unwrap();
        assert_eq!(router().oneshot(stale).await.unwrap().status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn serves_the_vendored_mermaid_bundle() {
        let mermaid = url("mermaid.min.js");
        assert!(mermaid.starts_with("/assets/mermaid.") && mermaid.ends_with(".min.js"), "{mermaid}");
        let response = router().oneshot(Request::get(&mermaid).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), include_bytes!("../assets/mermaid.min.js").len());
        // The self-contained browser bundle: it defines the `mermaid` global.
        assert!(body.starts_with(b"\"use strict\";var __esbuild_esm_mermaid_nm;"));
    }
}
