//! The routes, called in process without opening a socket.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use ${{ values.name | replace("-", "_") }}::app;

/// Sends `GET path` to the router: the status and the body as text.
async fn get(path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = app().oneshot(request).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body");
    let text = String::from_utf8_lossy(&body.to_bytes()).into_owned();
    (status, text)
}

#[tokio::test]
async fn root_greets_with_the_package_name() {
    let (status, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("Hello from {}!", env!("CARGO_PKG_NAME")));
}

#[tokio::test]
async fn healthz_says_ok() {
    let (status, body) = get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let (status, _) = get("/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
