//! Tokens never reach logs or error bodies.

use axum::http::Method;
use portico_testkit::LogCapture;

use crate::{AuthApp, Catalog};

#[tokio::test]
async fn tokens_are_never_logged_or_echoed() {
    let (captured, _guard) = LogCapture::install();

    let yaml = "backend:\n  auth:\n    dangerouslyDisableDefaultAuthPolicy: false\n    externalAccess:\n      - type: static\n        options:\n          token: very-secret-static-token\n          subject: ci-bot\n        accessRestrictions:\n          - plugin: catalog\nauth:\n  providers:\n    guest: {}\n";
    let app = AuthApp::start(yaml, Catalog::default()).await;
    let user_token = app.sign_in_as_guest().await;
    let forged = format!("{user_token}AAAA");
    let wrong_static = "very-secret-static-tokeN";
    let mut answers = Vec::new();
    for token in ["very-secret-static-token", wrong_static, user_token.as_str(), forged.as_str()] {
        let header = format!("Bearer {token}");
        for uri in ["/api/catalog/whoami", "/api/search/whoami", "/whoami", "/api/auth/v1/userinfo"] {
            answers.push(app.get(uri, &[("authorization", &header)]).await);
        }
        answers.push(app.get("/whoami", &[("cookie", &format!("portico-session={token}"))]).await);
    }
    answers.push(
        app.send(Method::POST, "/sign-out", &[("cookie", &format!("portico-session={forged}"))], None).await,
    );

    let logs = captured.text();
    assert!(logs.contains("issued a user token"), "logging was captured: {logs}");
    assert!(logs.contains("refused a bearer token"), "refusals are logged: {logs}");
    for secret in ["very-secret-static-token", wrong_static, user_token.as_str(), forged.as_str()] {
        assert!(!logs.contains(secret), "a token was logged:\n{logs}");
        for answer in answers.iter().filter(|answer| answer.status.as_u16() >= 400) {
            assert!(!answer.body.contains(secret), "an error shows a token: {}", answer.body);
        }
    }
    // Nor a part of one: the signature of the user token.
    let signature = user_token.rsplit('.').next().expect("signature");
    assert!(!logs.contains(signature));
}
