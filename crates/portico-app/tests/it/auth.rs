//! Identity through the whole app: the default auth policy with static and user tokens, forged
//! credentials, guest sign-in and the session cookie on pages, "owned by me" and `createdBy`
//! for the signed-in user.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portico_store::{SigningKeyStore, StoredSigningKey};
use portico_store_sqlite::SqliteStore;
use portico_testkit::{TestApp, TestResponse, write_file};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

const STATIC_TOKEN: &str = "ci-token-0123456789abcdef";

/// Guest sign-in, a static token, the default auth policy on; the guest is a member of team-a
/// in the catalog, which owns one of two components; one template.
const ENFORCED: &str = "backend:
  auth:
    dangerouslyDisableDefaultAuthPolicy: false
    externalAccess:
      - type: static
        options:
          token: ci-token-0123456789abcdef
          subject: ci-bot
auth:
  providers:
    guest: {}
catalog:
  rules:
    - allow: [Component, Group, User, Template, Location]
  locations:
    - type: file
      target: ./catalog.yaml
";

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: guest
  namespace: development
spec:
  memberOf: [group:default/team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ours
spec:
  type: service
  lifecycle: production
  owner: group:default/team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: theirs
spec:
  type: service
  lifecycle: production
  owner: group:default/team-b
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello
spec:
  type: service
  steps:
    - id: greet
      action: debug:log
      input:
        message: hello
";

async fn app(config: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    write_file(dir.path(), "catalog.yaml", CATALOG);
    let app = TestApp::start_in(dir, config, portico_testkit::TestDatabase::Sqlite).await;
    app.settle().await;
    app
}

async fn get(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::empty()).expect("request")).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Signs in through the sign-in page's guest form; the session token.
async fn sign_in(app: &TestApp) -> String {
    let request = Request::post("/sign-in/guest")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from("returnTo=%2Fsettings"))
        .expect("request");
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    assert_eq!(response.headers[header::LOCATION], "/settings");
    let cookie = response.headers[header::SET_COOKIE].to_str().expect("ascii").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    cookie
        .strip_prefix("portico-session=")
        .and_then(|rest| rest.split(';').next())
        .expect("session")
        .to_owned()
}

/// A signing key of "another replica": its public half in the app's database, its private
/// half here to sign whatever the test needs.
struct Replica {
    kid: String,
    key: EncodingKey,
}

impl Replica {
    async fn join(app: &TestApp) -> Replica {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("key");
        let point = pair.public_key().as_ref();
        let kid = uuid::Uuid::new_v4().to_string();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
        let store = SqliteStore::open(&app.path("portico.db")).await.expect("the app's database");
        let now = portico_store::now_millis();
        store
            .add_signing_key(&StoredSigningKey {
                kid: kid.clone(),
                public_jwk: jwk.to_string(),
                created_at: now,
            })
            .await
            .expect("store the public key");
        Replica { kid, key: EncodingKey::from_ec_der(pkcs8.as_ref()) }
    }

    /// A user token for `user:development/guest` issued `age` seconds ago, valid for `lifetime`.
    fn token(&self, age: u64, lifetime: u64) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims = json!({"sub": "user:development/guest", "ent": ["user:development/guest"], "aud": "backstage",
            "iat": now - age, "exp": now - age + lifetime});
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("vnd.backstage.user".into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign")
    }
}

fn assert_refused(response: &TestResponse, what: &str) {
    assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what}: {}", response.text());
    let body = response.json();
    assert_eq!(body["error"]["name"], "AuthenticationError", "{what}");
    assert_eq!(body["response"]["statusCode"], 401, "{what}");
    assert_eq!(body["request"]["method"], "GET", "{what}: the app adds the request part");
}

#[tokio::test]
async fn with_the_default_auth_policy_the_api_needs_credentials() {
    let app = app(ENFORCED).await;
    let uri = "/api/catalog/entities?filter=kind=component";
    let with_token = get(&app, uri, &[("authorization", &bearer(STATIC_TOKEN))]).await;
    assert_eq!(with_token.status, StatusCode::OK, "{}", with_token.text());
    assert_eq!(with_token.json().as_array().map(Vec::len), Some(2));
    assert_refused(&get(&app, uri, &[]).await, "no credentials");
    assert_eq!(get(&app, uri, &[]).await.json()["error"]["message"], "Missing credentials");
    assert_refused(
        &get(&app, uri, &[("authorization", &bearer("not-the-token-0123"))]).await,
        "unknown token",
    );
    // Health, discovery, sign-in and pages stay reachable.
    for open in [
        "/healthz",
        "/readyz",
        "/api/auth/.well-known/jwks.json",
        "/api/auth/guest/refresh",
        "/catalog",
        "/sign-in",
    ] {
        assert_eq!(get(&app, open, &[]).await.status, StatusCode::OK, "{open}");
    }
    // A signed-in user's token, as bearer and as the session cookie.
    let token = sign_in(&app).await;
    assert_eq!(get(&app, uri, &[("authorization", &bearer(&token))]).await.status, StatusCode::OK);
    let cookie = format!("portico-session={token}");
    assert_eq!(get(&app, uri, &[("cookie", &cookie)]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn forged_expired_foreign_and_unsigned_tokens_are_refused() {
    let app = app(ENFORCED).await;
    let uri = "/api/catalog/entities";
    let replica = Replica::join(&app).await;
    let valid = replica.token(0, 3600);
    let accepted = get(&app, uri, &[("authorization", &bearer(&valid))]).await;
    assert_eq!(accepted.status, StatusCode::OK, "a key another replica stored is read: {}", accepted.text());

    let expired = replica.token(7200, 3600);
    assert_refused(&get(&app, uri, &[("authorization", &bearer(&expired))]).await, "expired");

    let mut forged: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&forged[1]).unwrap()).unwrap();
    claims["sub"] = json!("user:default/admin");
    forged[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_refused(&get(&app, uri, &[("authorization", &bearer(&forged.join(".")))]).await, "forged claims");

    // Another key claiming to be the stored one.
    let stranger = Replica { kid: replica.kid.clone(), ..Replica::join(&app).await };
    assert_refused(
        &get(&app, uri, &[("authorization", &bearer(&stranger.token(0, 3600)))]).await,
        "other key",
    );

    let none_header = URL_SAFE_NO_PAD
        .encode(json!({"alg": "none", "typ": "vnd.backstage.user", "kid": replica.kid}).to_string());
    let unsigned = format!("{none_header}.{}.", valid.split('.').nth(1).unwrap());
    assert_refused(&get(&app, uri, &[("authorization", &bearer(&unsigned))]).await, "alg none");
}

#[tokio::test]
async fn a_forged_session_cookie_is_treated_as_signed_out() {
    let app = app(ENFORCED).await;
    let token = sign_in(&app).await;
    let forged = format!("{}x", token);
    let settings = get(&app, "/settings", &[("cookie", &format!("portico-session={forged}"))]).await;
    assert_eq!(settings.status, StatusCode::OK);
    let html = settings.text();
    assert!(html.contains("You have not signed in"), "{html}");
    assert!(!html.contains("user:development/guest</code>"), "{html}");
    let cleared = settings.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with("portico-session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_refused(
        &get(&app, "/api/catalog/entities", &[("cookie", &format!("portico-session={forged}"))]).await,
        "API",
    );
}

#[tokio::test]
async fn the_sign_in_page_never_returns_off_site() {
    let app = app(ENFORCED).await;
    let page = get(&app, "/sign-in?returnTo=%2Fcatalog%3Fkind%3Dapi", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(r#"name="returnTo" value="/catalog?kind=api""#), "{}", page.text());
    for off_site in ["https%3A%2F%2Fevil.example%2F", "%2F%2Fevil.example", "%2F%5Cevil.example"] {
        let page = get(&app, &format!("/sign-in?returnTo={off_site}"), &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{off_site}");
        let request = Request::post("/sign-in/guest")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("returnTo={off_site}")))
            .unwrap();
        let post = app.send(request).await;
        assert_eq!(post.status, StatusCode::BAD_REQUEST, "{off_site}");
        assert!(
            post.headers.get(header::LOCATION).is_none() && post.headers.get(header::SET_COOKIE).is_none()
        );
    }
}

#[tokio::test]
async fn signed_in_as_guest_the_pages_show_who_you_are() {
    let app = app(ENFORCED).await;
    let anonymous = get(&app, "/settings", &[]).await.text();
    assert!(anonymous.contains(r#"href="/sign-in?returnTo=%2Fsettings""#), "a sign-in link: {anonymous}");

    let token = sign_in(&app).await;
    let cookie = format!("portico-session={token}");
    let settings = get(&app, "/settings", &[("cookie", &cookie)]).await;
    assert_eq!(settings.status, StatusCode::OK);
    let html = settings.text();
    for expected in [
        r#"<code class="identity-ref">user:development/guest</code>"#,
        r#"<code class="identity-ref">group:default/team-a</code>"#,
        "Session ends",
        r#"<form method="post" action="/sign-out">"#,
        r#"<span class="user-menu-name">guest</span>"#,
    ] {
        assert!(html.contains(expected), "missing {expected}: {html}");
    }
    assert!(html.contains("(in 59 minutes)") || html.contains("(in 60 minutes)"), "time left: {html}");
    assert!(!html.contains(r#"name="user""#), "no user entity to choose while signed in");

    // "Owned by me" is what the token says the guest owns through.
    let owned = get(&app, "/catalog?user=owned", &[("cookie", &cookie)]).await.text();
    assert!(owned.contains("/catalog/default/component/ours"), "{owned}");
    assert!(!owned.contains("/catalog/default/component/theirs"), "{owned}");
    let everyone = get(&app, "/catalog?user=owned", &[]).await.text();
    assert!(!everyone.contains("/catalog/default/component/ours"), "nobody owns anything anonymously");
}

#[tokio::test]
async fn a_task_created_while_signed_in_is_created_by_the_signed_in_user() {
    let app = app(ENFORCED).await;
    let token = sign_in(&app).await;
    let request = Request::post("/api/scaffolder/v2/tasks")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, format!("portico-session={token}"))
        .body(Body::from(json!({"templateRef": "template:default/hello", "values": {}}).to_string()))
        .unwrap();
    let created = app.send(request).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let task =
        get(&app, &format!("/api/scaffolder/v2/tasks/{id}"), &[("authorization", &bearer(&token))]).await;
    assert_eq!(task.json()["createdBy"], "user:development/guest");
    assert_eq!(task.json()["spec"]["user"]["ref"], "user:development/guest");

    let by_service = Request::post("/api/scaffolder/v2/tasks")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, bearer(STATIC_TOKEN))
        .body(Body::from(json!({"templateRef": "template:default/hello", "values": {}}).to_string()))
        .unwrap();
    let created = app.send(by_service).await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let task =
        get(&app, &format!("/api/scaffolder/v2/tasks/{id}"), &[("authorization", &bearer(STATIC_TOKEN))])
            .await;
    assert_eq!(task.json()["createdBy"], portico_web::GUEST_USER, "a service is no signed-in person");
}

#[tokio::test]
async fn the_open_default_keeps_anonymous_api_access() {
    let app = app("catalog:\n  rules:\n    - allow: [Component, Group, User, Template, Location]\n  locations:\n    - type: file\n      target: ./catalog.yaml\n").await;
    assert_eq!(get(&app, "/api/catalog/entities", &[]).await.status, StatusCode::OK);
    let page = get(&app, "/sign-in", &[]).await.text();
    assert!(page.contains("No sign-in method is configured"), "{page}");
}
