//! The guest provider's routes as Backstage's frontend calls them (other-apis.md §4.1–4.3).

use axum::http::{Method, StatusCode};
use portico_store::{ActionFilter, AuditOutcome, AuditQuery, AuditStore};
use serde_json::json;

use crate::{AuthApp, BASE, Catalog, error_name, popup_payload};

const GUEST: &str = "auth:\n  providers:\n    guest: {}\n";

#[tokio::test]
async fn guest_start_redirects_to_the_frame_handler() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let answer =
        app.get("/api/auth/guest/start?env=development&origin=http%3A%2F%2Fportal.test%3A7007", &[]).await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert_eq!(
        answer.headers["location"],
        format!("{BASE}/api/auth/guest/handler/frame?env=development&origin=http%3A%2F%2Fportal.test%3A7007")
    );
}

#[tokio::test]
async fn guest_frame_posts_the_identity_to_the_app_origin_with_the_script_hash_as_csp() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    for method in [Method::GET, Method::POST] {
        let answer = app.send(method, "/api/auth/guest/handler/frame?env=development", &[], None).await;
        let payload = popup_payload(&answer, BASE);
        assert_eq!(payload["type"], "authorization_response");
        let response = &payload["response"];
        assert_eq!(response["profile"], json!({"displayName": "Guest"}));
        assert_eq!(response["providerInfo"], json!({"name": "Guest"}));
        let identity = &response["backstageIdentity"];
        assert_eq!(
            identity["identity"],
            json!({"type": "user", "userEntityRef": "user:development/guest", "ownershipEntityRefs": ["user:development/guest"]})
        );
        let expires = identity["expiresInSeconds"].as_u64().expect("seconds");
        assert!((3590..=3600).contains(&expires), "{expires}");
        let token = identity["token"].as_str().expect("token");
        let whoami = app.get("/api/catalog/whoami", &[("authorization", &format!("Bearer {token}"))]).await;
        assert_eq!(whoami.json()["userEntityRef"], "user:development/guest", "the token works as a bearer");
    }
}

#[tokio::test]
async fn guest_frame_refuses_other_origins_through_the_popup() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let answer = app.get("/api/auth/guest/handler/frame?origin=https%3A%2F%2Fevil.test", &[]).await;
    let payload = popup_payload(&answer, BASE);
    assert_eq!(
        payload,
        json!({"type": "authorization_response", "error": {"name": "NotAllowedError", "message": "Origin 'https://evil.test' is not allowed"}})
    );
}

#[tokio::test]
async fn guest_redirect_flow_only_returns_to_the_app() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let answer = app
        .get("/api/auth/guest/handler/frame?flow=redirect&redirectUrl=http%3A%2F%2Fportal.test%3A7007%2Fcatalog%3Fkind%3Dapi", &[])
        .await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert_eq!(answer.headers["location"], format!("{BASE}/catalog?kind=api"));
    for off_site in ["https%3A%2F%2Fevil.test%2F", "%2F%2Fevil.test%2F", "%2F%5Cevil.test"] {
        let answer = app
            .get(&format!("/api/auth/guest/handler/frame?flow=redirect&redirectUrl={off_site}"), &[])
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{off_site}");
        assert_eq!(error_name(&answer), "NotAllowedError");
        assert!(answer.headers.get("location").is_none());
    }
    let missing = app.get("/api/auth/guest/handler/frame?flow=redirect", &[]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn guest_refresh_answers_with_the_catalogs_ownership_when_the_user_is_there() {
    let app = AuthApp::start(GUEST, Catalog::with_jane()).await;
    for method in [Method::GET, Method::POST] {
        let answer = app.send(method, "/api/auth/guest/refresh?env=development", &[], None).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let body = answer.json();
        assert_eq!(body["profile"], json!({"displayName": "Guest"}));
        assert_eq!(body["providerInfo"], json!({}));
        assert_eq!(
            body["backstageIdentity"]["identity"]["ownershipEntityRefs"],
            json!(["user:development/guest", "group:default/guests", "group:default/everyone"])
        );
    }
}

#[tokio::test]
async fn guest_uses_its_configured_user_and_ownership_when_not_in_the_catalog() {
    let app = AuthApp::start(
        "auth:\n  providers:\n    guest:\n      userEntityRef: user:default/visitor\n      ownershipEntityRefs: [user:default/visitor, group:default/visitors]\n",
        Catalog::with_jane(),
    )
    .await;
    let body = app.get("/api/auth/guest/refresh", &[]).await.json();
    assert_eq!(
        body["backstageIdentity"]["identity"],
        json!({"type": "user", "userEntityRef": "user:default/visitor", "ownershipEntityRefs": ["user:default/visitor", "group:default/visitors"]})
    );
}

#[tokio::test]
async fn guest_is_refused_in_production_unless_allowed() {
    let app =
        AuthApp::start("auth:\n  environment: production\n  providers:\n    guest: {}\n", Catalog::default())
            .await;
    let refused = app.get("/api/auth/guest/refresh", &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(error_name(&refused), "NotImplementedError");
    assert_eq!(refused.json()["error"]["message"], portico_auth::GUEST_REFUSED);
    let frame = popup_payload(&app.get("/api/auth/guest/handler/frame", &[]).await, BASE);
    assert_eq!(frame["error"]["name"], "NotImplementedError");
    assert!(frame.get("response").is_none());
    let form = app
        .send(Method::POST, "/sign-in/guest", &[("sec-fetch-site", "same-origin")], Some("returnTo=%2F"))
        .await;
    assert_eq!(form.status, StatusCode::NOT_IMPLEMENTED);
    assert!(form.session().is_none());
    assert!(form.body.contains("dangerouslyAllowOutsideDevelopment"), "{}", form.body);

    let allowed = AuthApp::start(
        "auth:\n  environment: production\n  providers:\n    guest:\n      dangerouslyAllowOutsideDevelopment: true\n",
        Catalog::default(),
    )
    .await;
    assert_eq!(allowed.get("/api/auth/guest/refresh", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn guest_logout_answers_200() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let answer = app.send(Method::POST, "/api/auth/guest/logout", &[], None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn unknown_providers_answer_404_with_backstages_messages() {
    let app = AuthApp::start(
        "auth:\n  providers:\n    github:\n      development: {clientId: x, clientSecret: y}\n",
        Catalog::default(),
    )
    .await;
    let cases = [
        ("/api/auth/github/start?env=development", "No auth provider registered for 'github'"),
        ("/api/auth/gitlab/refresh", "Unknown auth provider 'gitlab'"),
        ("/api/auth/guest/start", "Unknown auth provider 'guest'"),
        ("/api/auth/guest", "Unknown auth provider 'guest'"),
    ];
    for (uri, message) in cases {
        let answer = app.get(uri, &[]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json()["error"], json!({"name": "NotFoundError", "message": message}), "{uri}");
    }
}

#[tokio::test]
async fn guest_sign_ins_and_sign_outs_are_audited() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let token = app.sign_in_as_guest().await;
    app.get("/api/auth/guest/handler/frame?flow=redirect&redirectUrl=%2F", &[]).await;
    app.get("/api/auth/guest/handler/frame?origin=https%3A%2F%2Fevil.test", &[]).await;
    let session = format!("portico-session={token}");
    app.send(Method::POST, "/sign-out", &[("cookie", &session)], None).await;
    app.send(Method::POST, "/api/auth/guest/logout", &[], None).await;

    let query = AuditQuery { action: Some(ActionFilter::Prefix("auth.".into())), ..AuditQuery::default() };
    let (mut entries, _) = app.store.list(&query).await.expect("audit log");
    entries.sort_by_key(|entry| entry.id);
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.actor.as_str(),
                e.action.as_str(),
                e.target.as_str(),
                e.outcome,
                e.details.get("flow").and_then(|flow| flow.as_str()),
            )
        })
        .collect();
    let guest = "user:development/guest";
    assert_eq!(
        summary,
        [
            (guest, "auth.sign-in", "guest", AuditOutcome::Succeeded, Some("form")),
            (guest, "auth.sign-in", "guest", AuditOutcome::Succeeded, Some("redirect")),
            ("anonymous", "auth.sign-in", "guest", AuditOutcome::Failed, Some("popup")),
            (guest, "auth.sign-out", "session", AuditOutcome::Succeeded, None),
            ("anonymous", "auth.sign-out", "guest", AuditOutcome::Succeeded, None),
        ]
    );
    assert_eq!(entries[2].details["error"], "Origin 'https://evil.test' is not allowed");
}

#[tokio::test]
async fn the_guest_redirect_flow_also_signs_in_to_the_portals_pages() {
    let app = AuthApp::start(GUEST, Catalog::default()).await;
    let answer = app.get("/api/auth/guest/handler/frame?flow=redirect&redirectUrl=%2Fcatalog", &[]).await;
    assert_eq!(answer.status, StatusCode::FOUND);
    let token = answer.session().expect("the session cookie");
    let whoami = app.get("/whoami", &[("cookie", &format!("portico-session={token}"))]).await;
    assert_eq!(whoami.json()["userEntityRef"], "user:development/guest");
    let popup = app.get("/api/auth/guest/handler/frame", &[]).await;
    assert!(popup.session().is_none(), "the popup flow leaves the session to the app");
}
