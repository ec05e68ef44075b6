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
    /// The name it is served under (`portico.<hash>.css`).
    pub hashed_name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

impl Asset {
    /// The URL the asset is served at.
    pub fn url(&self) -> String {
        format!("/assets/{}", self.hashed_name)
    }
}

const FILES: [(&str, &str, &[u8]); 5] = [
    ("portico.css", "text/css; charset=utf-8", include_bytes!("../assets/portico.css")),
    ("portico.js", "text/javascript; charset=utf-8", include_bytes!("../assets/portico.js")),
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/htmx.min.js")),
    // Only documentation pages with diagrams load it.
    ("mermaid.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/mermaid.min.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../assets/favicon.svg")),
];

fn hashed(name: &str, bytes: &[u8]) -> String {
    let digest = hex::encode(Sha1::digest(bytes));
    let hash = &digest[..10];
    match name.split_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

/// Every embedded asset.
pub fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|&(name, content_type, bytes)| Asset {
                name,
                hashed_name: hashed(name, bytes),
                content_type,
                bytes,
            })
            .collect()
    })
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
    let Some(asset) = all().iter().find(|a| a.hashed_name == file) else {
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
