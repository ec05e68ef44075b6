//! Who a request is: discovery and keys, user and static tokens, the default auth policy, the
//! session cookie and the sign-in pages.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::{AuthApp, BASE, Catalog, error_name};

const STATIC: &str = "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: ci-token-0123456789\n          subject: ci-bot\n      - type: static\n        options:\n          token: catalog-only-token-42\n          subject: catalog-reader\n        accessRestrictions:\n          - plugin: catalog\n";
const GUEST: &str = "auth:\n  providers:\n    guest: {}\n";

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn discovery_document_and_jwks() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let discovery = app.get("/api/auth/.well-known/openid-configuration", &[]).await.json();
    assert_eq!(discovery["issuer"], format!("{BASE}/api/auth"));
    assert_eq!(discovery["jwks_uri"], format!("{BASE}/api/auth/.well-known/jwks.json"));
    assert_eq!(discovery["userinfo_endpoint"], format!("{BASE}/api/auth/v1/userinfo"));
    assert_eq!(discovery["id_token_signing_alg_values_supported"], json!(["ES256"]));

    assert_eq!(
        app.get("/api/auth/.well-known/jwks.json", &[]).await.json(),
        json!({"keys": []}),
        "keys are made lazily"
    );
    let token = app.sign_in_as_guest().await;
    let jwks = app.get("/api/auth/.well-known/jwks.json", &[]).await.json();
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(keys[0]["kid"], header["kid"]);
    for field in ["kty", "crv", "x", "y", "alg", "use"] {
        assert!(keys[0].get(field).is_some(), "{field}");
    }
    assert!(keys[0].get("d").is_none(), "no private key in the JWKS");
}

#[tokio::test]
async fn userinfo_answers_the_tokens_claims() {
    let app = AuthApp::start(GUEST, Catalog::with_jane()).await;
    let missing = app.get("/api/auth/v1/userinfo", &[]).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.json()["error"],
        json!({"name": "AuthenticationError", "message": "No token provided"})
    );
    let token = app.sign_in_as_guest().await;
    let info = app.get("/api/auth/v1/userinfo", &[("authorization", &bearer(&token))]).await.json();
    assert_eq!(
        info,
        json!({"sub": "user:development/guest", "ent": ["user:development/guest", "group:default/guests", "group:default/everyone"]})
    );
    let forged = app.get("/api/auth/v1/userinfo", &[("authorization", &bearer(&format!("{token}x")))]).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn static_tokens_are_service_principals_limited_to_their_plugins() {
    let app = AuthApp::start(STATIC, Catalog::default()).await;
    let ci = app.get("/api/catalog/whoami", &[("authorization", &bearer("ci-token-0123456789"))]).await;
    assert_eq!(ci.json(), json!({"type": "service", "subject": "ci-bot", "restricted": false}));
    let search = app.get("/api/search/whoami", &[("authorization", &bearer("ci-token-0123456789"))]).await;
    assert_eq!(search.status, StatusCode::OK);

    let reader = app.get("/api/catalog/whoami", &[("authorization", &bearer("catalog-only-token-42"))]).await;
    assert_eq!(reader.json(), json!({"type": "service", "subject": "catalog-reader", "restricted": true}));
    let refused = app.get("/api/search/whoami", &[("authorization", &bearer("catalog-only-token-42"))]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json()["error"],
        json!({"name": "NotAllowedError", "message": "This token's access is restricted to plugin(s) 'catalog'"})
    );
    let page = app.get("/whoami", &[("authorization", &bearer("catalog-only-token-42"))]).await;
    assert_eq!(page.json(), json!({"type": "none"}), "a restricted token is nobody on pages");
}

#[tokio::test]
async fn the_api_is_open_by_default_but_presented_tokens_must_be_valid() {
    let app = AuthApp::start(STATIC, Catalog::default()).await;
    let anonymous = app.get("/api/catalog/whoami", &[]).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.json(), json!({"type": "none"}));
    let bad = app.get("/api/catalog/whoami", &[("authorization", &bearer("not-a-known-token"))]).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.json()["error"], json!({"name": "AuthenticationError", "message": "Illegal token"}));
}

#[tokio::test]
async fn the_default_auth_policy_refuses_api_requests_without_credentials() {
    let yaml = format!("{STATIC}    dangerouslyDisableDefaultAuthPolicy: false\n{GUEST}");
    let app = AuthApp::start(&yaml, Catalog::default()).await;
    let anonymous = app.get("/api/catalog/whoami", &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.json()["error"],
        json!({"name": "AuthenticationError", "message": "Missing credentials"})
    );
    assert_eq!(error_name(&app.get("/api", &[]).await), "AuthenticationError");
    let ci = app.get("/api/catalog/whoami", &[("authorization", &bearer("ci-token-0123456789"))]).await;
    assert_eq!(ci.status, StatusCode::OK);
    // Sign-in itself, discovery, health and pages need no credentials.
    assert_eq!(app.get("/api/auth/.well-known/jwks.json", &[]).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/auth/guest/refresh", &[]).await.status, StatusCode::OK);
    assert_eq!(app.get("/healthz", &[]).await.status, StatusCode::OK);
    assert_eq!(app.get("/whoami", &[]).await.json(), json!({"type": "none"}));
    assert_eq!(app.get("/sign-in", &[]).await.status, StatusCode::OK);
    // A user token, as bearer or as the session cookie.
    let token = app.sign_in_as_guest().await;
    let user = app.get("/api/catalog/whoami", &[("authorization", &bearer(&token))]).await;
    assert_eq!(user.json()["userEntityRef"], "user:development/guest");
    let cookie = format!("portico-session={token}");
    assert_eq!(app.get("/api/catalog/whoami", &[("cookie", &cookie)]).await.json()["type"], "user");
}

#[tokio::test]
async fn signing_in_as_guest_sets_the_session_cookie() {
    let app = AuthApp::start(GUEST, Catalog::with_jane()).await;
    let answer = app
        .send(
            Method::POST,
            "/sign-in/guest",
            &[("origin", BASE), ("host", "portal.test:7007"), ("sec-fetch-site", "same-origin")],
            Some("returnTo=%2Fcatalog%3Fkind%3Dapi"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers["location"], "/catalog?kind=api");
    let cookie = answer.cookies().remove(0);
    let token = answer.session().expect("session");
    assert!(cookie.starts_with(&format!("portico-session={token}; Path=/; Max-Age=")), "{cookie}");
    assert!(cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");

    let whoami = app.get("/whoami", &[("cookie", &format!("theme=dark; portico-session={token}"))]).await;
    assert_eq!(whoami.json()["userEntityRef"], "user:development/guest");
    assert!(whoami.cookies().is_empty(), "a fresh session is not renewed");

    let https =
        AuthApp::start(&format!("app:\n  baseUrl: https://portal.test\n{GUEST}"), Catalog::default()).await;
    let answer = https.send(Method::POST, "/sign-in/guest", &[], Some("returnTo=%2F")).await;
    assert!(answer.cookies()[0].ends_with("; Secure"), "{:?}", answer.cookies());
}

#[tokio::test]
async fn a_forged_session_cookie_is_treated_as_signed_out_and_cleared() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let token = app.sign_in_as_guest().await;
    let mut forged = token.clone();
    forged.insert(forged.len() / 2, 'A');
    for value in [forged.as_str(), "garbage", "a.b.c"] {
        let answer = app.get("/whoami", &[("cookie", &format!("portico-session={value}"))]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json(), json!({"type": "none"}), "{value}");
        assert!(
            answer.cookies().iter().any(|c| c.starts_with("portico-session=;") && c.contains("Max-Age=0"))
        );
    }
}

#[tokio::test]
async fn signing_out_clears_the_session_and_only_same_site_posts_count() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let token = app.sign_in_as_guest().await;
    let cookie = format!("portico-session={token}");
    let answer = app
        .send(Method::POST, "/sign-out", &[("cookie", &cookie), ("sec-fetch-site", "same-origin")], None)
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers["location"], "/sign-in?signedOut=1");
    assert_eq!(answer.cookies().len(), 1, "{:?}", answer.cookies());
    assert!(answer.cookies()[0].starts_with("portico-session=; Path=/; Max-Age=0"));

    for headers in [
        [("sec-fetch-site", "cross-site"), ("host", "portal.test:7007")],
        [("origin", "https://evil.test"), ("host", "portal.test:7007")],
    ] {
        let sign_in = app.send(Method::POST, "/sign-in/guest", &headers, Some("returnTo=%2F")).await;
        assert_eq!(sign_in.status, StatusCode::FORBIDDEN);
        assert!(sign_in.session().is_none());
        let sign_out = app.send(Method::POST, "/sign-out", &headers, None).await;
        assert_eq!(sign_out.status, StatusCode::FORBIDDEN);
        assert!(sign_out.cookies().is_empty());
    }
}

#[tokio::test]
async fn the_sign_in_page_lists_providers_and_refuses_off_site_return_addresses() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let page = app.get("/sign-in?returnTo=%2Fdocs%2Fx", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Continue as guest"), "{}", page.body);
    assert!(page.body.contains(r#"<form method="post" action="/sign-in/guest">"#), "{}", page.body);
    assert!(page.body.contains(r#"name="returnTo" value="/docs/x""#), "{}", page.body);

    for off_site in ["https%3A%2F%2Fevil.test%2F", "%2F%2Fevil.test", "javascript%3Aalert(1)"] {
        let page = app.get(&format!("/sign-in?returnTo={off_site}"), &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{off_site}");
        assert!(!page.body.contains("evil.test"), "the address is not offered as a link");
        let post = app
            .send(
                Method::POST,
                "/sign-in/guest",
                &[("sec-fetch-site", "same-origin")],
                Some(&format!("returnTo={off_site}")),
            )
            .await;
        assert_eq!(post.status, StatusCode::BAD_REQUEST, "{off_site}");
        assert!(post.session().is_none() && post.headers.get("location").is_none());
    }

    let empty = AuthApp::start("", Catalog::default()).await;
    let page = empty.get("/sign-in", &[]).await;
    assert!(page.body.contains("No sign-in method is configured"), "{}", page.body);
    let production =
        AuthApp::start("auth:\n  environment: production\n  providers:\n    guest: {}\n", Catalog::default())
            .await;
    let page = production.get("/sign-in", &[]).await;
    assert!(
        page.body.contains("turned off outside development") && page.body.contains("disabled"),
        "{}",
        page.body
    );
}
