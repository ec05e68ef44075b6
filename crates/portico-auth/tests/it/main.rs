//! The auth plugin started as the app starts it (on a real SQLite file), its routes, pages and
//! gate assembled around a stand-in API route that answers with the principal it was given.

mod guest;
mod identity;
mod oidc;
mod secrets;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use portico_auth::{AuthPlugin, Principal, UserCatalog};
use portico_config::Config;
use portico_plugin::{Plugin, PluginContext, Registrar, Shutdown};
use portico_store_sqlite::SqliteStore;
use portico_web::Shell;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const BASE: &str = "http://portal.test:7007";

/// Users and groups the tests sign in as.
#[derive(Default)]
pub struct Catalog(HashMap<String, Value>);

impl Catalog {
    pub fn with_jane() -> Catalog {
        let mut entities = HashMap::new();
        entities.insert(
            "user:development/guest".to_owned(),
            json!({"kind": "User", "metadata": {"name": "guest", "namespace": "development"},
                   "relations": [{"type": "memberOf", "targetRef": "group:default/guests"}]}),
        );
        entities.insert(
            "group:default/guests".to_owned(),
            json!({"kind": "Group", "metadata": {"name": "guests"},
                   "relations": [{"type": "childOf", "targetRef": "group:default/everyone"}]}),
        );
        Catalog(entities)
    }
}

#[async_trait::async_trait]
impl UserCatalog for Catalog {
    async fn entity(&self, entity_ref: &str) -> Option<Value> {
        self.0.get(&entity_ref.to_lowercase()).cloned()
    }
}

/// The plugin running on a fresh SQLite file, with its routes behind its gate.
pub struct AuthApp {
    router: Router,
    pub store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `Set-Cookie` headers.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().expect("ascii").to_owned())
            .collect()
    }

    /// The session token this answer sets, if it does.
    pub fn session(&self) -> Option<String> {
        self.cookies().iter().find_map(|cookie| {
            let value = cookie.strip_prefix("portico-session=")?.split(';').next()?;
            (!value.is_empty()).then(|| value.to_owned())
        })
    }
}

impl AuthApp {
    /// The plugin configured with `yaml` (merged over `backend.baseUrl: BASE`).
    pub async fn start(yaml: &str, catalog: impl UserCatalog) -> AuthApp {
        AuthApp::start_at(BASE, yaml, catalog).await
    }

    /// The plugin configured with `yaml` (merged over `backend.baseUrl: <base>`).
    pub async fn start_at(base: &str, yaml: &str, catalog: impl UserCatalog) -> AuthApp {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = Arc::new(SqliteStore::open(&dir.path().join("portico.db")).await.expect("store"));
        store.migrate().await.expect("migrate");
        let mut config =
            Config::from_yaml_str(&format!("backend:\n  baseUrl: {base}\n"), dir.path(), &|_| None)
                .expect("base");
        config.merge(Config::from_yaml_str(yaml, dir.path(), &|_| None).expect("test config"));
        let (_stop, shutdown) = Shutdown::new();
        let cx = PluginContext {
            config: Arc::new(config),
            catalog_store: store.clone(),
            user_data: store.clone(),
            task_store: store.clone(),
            signing_keys: store.clone(),
            audit: store.clone(),
            permissions: portico_plugin::Permissions::allow_all(),
            backlog: portico_plugin::Backlog::default(),
            shutdown,
        };
        let mut registrar = Registrar::default();
        AuthPlugin::new(Arc::new(catalog)).start(&cx, &mut registrar).await.expect("starts");
        let parts = registrar.into_parts();
        let gate = parts.authenticator.expect("the plugin registers its gate");
        let mut api =
            Router::new().route("/catalog/whoami", get(whoami)).route("/search/whoami", get(whoami));
        for (plugin, routes) in parts.api_routes {
            api = api.nest(&format!("/{plugin}"), routes);
        }
        let mut pages = Router::new().route("/whoami", get(whoami));
        for routes in parts.pages {
            pages = pages.merge(routes);
        }
        let shell = Arc::new(Shell { sign_in: true, ..Shell::default() });
        let router = Router::new()
            .nest("/api", api)
            .merge(pages)
            .route("/healthz", get(|| async { "ok" }))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                portico_web::shell_middleware(shell.clone(), request, next)
            }))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                let gate = gate.clone();
                async move { gate.authenticate(request, next).await }
            }));
        AuthApp { router, store, _dir: dir }
    }

    /// Serves the app over HTTP on `listener`, in the background.
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        tokio::spawn(axum::serve(listener, self.router.clone()).into_future());
    }

    /// Sends a request with these headers (and a form body for posts with `form`).
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        form: Option<&str>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match form {
            Some(form) => {
                builder = builder.header("content-type", "application/x-www-form-urlencoded");
                Body::from(form.to_owned())
            }
            None => Body::empty(),
        };
        let response =
            self.router.clone().oneshot(builder.body(body).expect("request")).await.expect("answer");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(Method::GET, uri, headers, None).await
    }

    /// Signs in as the guest through the sign-in page's form; the session token.
    pub async fn sign_in_as_guest(&self) -> String {
        let answer = self
            .send(
                Method::POST,
                "/sign-in/guest",
                &[("sec-fetch-site", "same-origin")],
                Some("returnTo=%2Fcatalog"),
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        answer.session().expect("a session cookie")
    }
}

/// What the stand-in routes answer: the principal they were given.
async fn whoami(principal: Principal) -> Json<Value> {
    Json(match principal {
        Principal::None => json!({"type": "none"}),
        Principal::User(user) => json!({
            "type": "user",
            "userEntityRef": user.user_entity_ref,
            "ownershipEntityRefs": user.ownership_entity_refs,
            "expiresAt": user.expires_at,
        }),
        Principal::Service(service) => json!({
            "type": "service",
            "subject": service.subject,
            "restricted": service.access_restrictions.is_some(),
        }),
    })
}

/// The payload of a popup page posting to `origin`, checking the page allows exactly its
/// inline script and posts the payload to that origin only.
pub fn popup_payload(answer: &Answer, origin: &str) -> Value {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(answer.headers["x-frame-options"], "sameorigin");
    let script =
        answer.body.split("<script>").nth(1).and_then(|rest| rest.split("</script>").next()).expect("script");
    let hash = STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, script.as_bytes()).as_ref());
    assert_eq!(answer.headers["content-security-policy"], format!("script-src 'sha256-{hash}'"));
    assert!(script.contains("postMessage({type:'config_info',targetOrigin:origin},'*')"), "{script}");
    assert!(script.contains("target.postMessage(answer,origin)"), "{script}");
    let encoded_origin = origin.replace(':', "%3A").replace('/', "%2F");
    assert!(script.contains(&format!("decodeURIComponent('{encoded_origin}')")), "{script}");
    let encoded = script
        .split("decodeURIComponent('")
        .nth(2)
        .and_then(|rest| rest.split('\'').next())
        .expect("payload");
    let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8().expect("utf-8");
    serde_json::from_str(&decoded).expect("payload JSON")
}

/// The error name of a Backstage error body.
pub fn error_name(answer: &Answer) -> String {
    answer.json()["error"]["name"].as_str().unwrap_or_default().to_owned()
}
