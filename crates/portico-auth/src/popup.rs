//! The page a sign-in popup ends on (other-apis.md §4.2): it hands the result to the window
//! that opened it and closes. The result travels inside an inline script, so the page allows
//! exactly that script by its hash and nothing else.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// What JavaScript's `encodeURIComponent` leaves alone; everything else — `'`, `<`, `/`
/// included — is percent-encoded, so no value can end the string or the script.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'(')
    .remove(b')');

/// The popup page posting `payload` (`{type: 'authorization_response', response | error}`) to
/// the app at `app_origin`. It first tells any listener which origin the answer goes to
/// (`config_info`), then posts the answer to that origin only.
pub fn popup_page(app_origin: &str, payload: &Value) -> Response {
    let script = popup_script(app_origin, payload);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signing in</title></head>\
         <body><p>Signing in… this window closes by itself.</p><script>{script}</script></body></html>\n"
    );
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("sameorigin"));
    if let Ok(policy) = HeaderValue::from_str(&format!("script-src '{}'", script_hash(&script))) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn popup_script(app_origin: &str, payload: &Value) -> String {
    let origin = utf8_percent_encode(app_origin, URI_COMPONENT);
    let payload = utf8_percent_encode(&payload.to_string(), URI_COMPONENT).to_string();
    format!(
        "(function(){{var origin=decodeURIComponent('{origin}');\
         var answer=JSON.parse(decodeURIComponent('{payload}'));\
         var target=window.opener||window.parent;\
         target.postMessage({{type:'config_info',targetOrigin:origin}},'*');\
         target.postMessage(answer,origin);\
         setTimeout(function(){{window.close();}},100);}})();"
    )
}

/// `sha256-<base64>` of a script, as a content security policy names it.
pub(crate) fn script_hash(script: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
    format!("sha256-{}", STANDARD.encode(digest.as_ref()))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn the_page_allows_only_its_own_script_and_escapes_the_payload() {
        let payload = json!({"type": "authorization_response", "error": {"name": "NotAllowedError", "message": "x'</script><script>alert(1)</script>"}});
        let response = popup_page("http://portal.test:7007", &payload);
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "sameorigin");
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let html = String::from_utf8(body.to_vec()).unwrap();
        let script = html.split("<script>").nth(1).and_then(|rest| rest.split("</script>").next()).unwrap();
        assert_eq!(html.matches("<script>").count(), 1, "the payload cannot open a script: {html}");
        assert_eq!(policy, format!("script-src '{}'", script_hash(script)));
        assert!(!script.contains("x'"), "a quote in a value is encoded: {script}");
        let encoded = script.split("decodeURIComponent('").nth(2).unwrap().split('\'').next().unwrap();
        let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap();
        assert_eq!(serde_json::from_str::<Value>(&decoded).unwrap(), payload);
        assert!(script.contains("decodeURIComponent('http%3A%2F%2Fportal.test%3A7007')"), "{script}");
    }
}
