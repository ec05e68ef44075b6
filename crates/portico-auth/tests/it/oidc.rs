//! The OpenID Connect provider against a real one — the `oidc-provider` package run by node
//! (`compat/oidc-provider/server.mjs`) — with the plugin served on a real port, driven over
//! HTTP with a cookie jar through the provider's own login and consent pages, the way a
//! browser goes through them.
//!
//! Needs `npm ci --prefix compat/oidc-provider --no-audit --no-fund` (CI runs it); without it
//! every test here fails saying so.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portico_auth::{AuthConfig, SIGN_IN_UNRESOLVED, UserCatalog};
use portico_config::Config;
use portico_store::{ActionFilter, AuditEntry, AuditOutcome, AuditQuery, AuditStore};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{Value, json};

use crate::{Answer, AuthApp, popup_payload};
use portico_testkit::{LogCapture, OidcProvider};

const CLIENT_ID: &str = "portico";
const CLIENT_SECRET: &str = "oidc-client-s3cret-for-tests";

/// The team-a member Jane, as each kind of resolver finds her.
const JANE_OWNERSHIP: [&str; 3] = ["user:default/jane", "group:default/team-a", "group:default/department"];

/// The OpenID Connect provider, with a client for its test-only admin routes.
struct Provider {
    issuer: String,
    http: reqwest::Client,
    _running: OidcProvider,
}

impl Provider {
    /// The provider with one client sending browsers back to `redirect_uri`; `args` are
    /// further options of server.mjs.
    async fn start(redirect_uri: &str, args: &[&str]) -> Provider {
        let running = OidcProvider::start(redirect_uri, CLIENT_ID, CLIENT_SECRET, args).await;
        Provider { issuer: running.issuer.clone(), http: reqwest::Client::new(), _running: running }
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    async fn admin(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.expect("the admin endpoint answers");
        assert!(response.status().is_success(), "admin request failed: {}", response.status());
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON")
    }

    /// Changes the ID token of the next token response (see server.mjs).
    async fn next_id_token(&self, change: Value) {
        let url = format!("{}/admin/next-id-token", self.issuer);
        self.admin(self.http.post(url).body(change.to_string())).await;
    }

    /// New signing keys; their key ids.
    async fn rotate_keys(&self) -> Vec<String> {
        let answer = self.admin(self.http.post(format!("{}/admin/rotate-keys", self.issuer))).await;
        serde_json::from_value(answer["kids"].clone()).expect("key ids")
    }

    /// Every request the provider answered, in order.
    async fn requests(&self) -> Vec<Value> {
        let answer = self.admin(self.http.get(format!("{}/admin/requests", self.issuer))).await;
        answer.as_array().expect("a list").clone()
    }

    async fn count(&self, path: &str) -> usize {
        self.requests().await.iter().filter(|request| request["path"] == path).count()
    }
}

/// Users and groups, changeable while the portal runs.
#[derive(Clone, Default)]
struct Users(Arc<RwLock<HashMap<String, Value>>>);

fn user(name: &str, spec: Value, annotations: Value, groups: &[&str]) -> Value {
    let relations: Vec<Value> =
        groups.iter().map(|group| json!({"type": "memberOf", "targetRef": group})).collect();
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": spec,
        "relations": relations,
    })
}

fn group(name: &str, parent: Option<&str>) -> Value {
    let relations: Vec<Value> =
        parent.map(|p| json!({"type": "childOf", "targetRef": p})).into_iter().collect();
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "team"},
        "relations": relations,
    })
}

impl Users {
    /// Each of the provider's accounts `jane` (jane@example.com, sub `jane`) and `joe`
    /// (joe@example.org) is a different catalog user to each kind of resolver; `mallory` is
    /// nobody.
    fn sample() -> Users {
        let users = Users::default();
        users.add(user("jane", json!({}), json!({}), &["group:default/team-a"]));
        users.add(user("jd", json!({}), json!({"oidc/subject": "jane"}), &["group:default/team-a"]));
        users.add(user(
            "joseph",
            json!({"profile": {"email": "Joe@Example.org"}}),
            json!({}),
            &["group:default/team-b"],
        ));
        users.add(user(
            "bloggs",
            json!({}),
            json!({"oidc/email": "joe@example.org"}),
            &["group:default/team-b"],
        ));
        users.add(group("team-a", Some("group:default/department")));
        users.add(group("team-b", None));
        users.add(group("department", None));
        users
    }

    fn add(&self, entity: Value) {
        let kind = entity["kind"].as_str().expect("kind").to_lowercase();
        let name = entity["metadata"]["name"].as_str().expect("name").to_lowercase();
        self.0.write().expect("lock").insert(format!("{kind}:default/{name}"), entity);
    }

    fn remove(&self, entity_ref: &str) -> Value {
        self.0.write().expect("lock").remove(entity_ref).expect("in the catalog")
    }
}

#[async_trait::async_trait]
impl UserCatalog for Users {
    async fn entity(&self, entity_ref: &str) -> Option<Value> {
        self.0.read().expect("lock").get(&entity_ref.to_lowercase()).cloned()
    }

    async fn find_entities(&self, filter: &Value) -> Option<Vec<Value>> {
        let filter = filter.as_object().expect("a filter object");
        let matches = |entity: &Value| {
            let rows = portico_model::search_rows(entity).expect("searchable");
            filter.iter().all(|(key, value)| {
                let value = value.as_str().expect("a string").to_lowercase();
                rows.iter().any(|row| row.key == key.to_lowercase() && row.value.as_ref() == Some(&value))
            })
        };
        Some(self.0.read().expect("lock").values().filter(|entity| matches(entity)).cloned().collect())
    }
}

fn resolver(name: &str, options: &str) -> String {
    format!("            - resolver: {name}\n{options}")
}

/// One environment of the provider per kind of resolver, all with the same client.
fn portal_config(metadata_url: &str) -> String {
    let environment = |name: &str, resolvers: &[String]| {
        format!(
            "      {name}:\n        metadataUrl: {metadata_url}\n        clientId: {CLIENT_ID}\n        clientSecret: {CLIENT_SECRET}\n        signIn:\n          resolvers:\n{}",
            resolvers.concat()
        )
    };
    let allow = "              dangerouslyAllowSignInWithoutUserInCatalog: true\n";
    [
        "auth:\n  providers:\n    guest: {}\n    oidc:\n".to_owned(),
        environment(
            "development",
            &[
                resolver("emailMatchingUserEntityProfileEmail", ""),
                resolver("emailLocalPartMatchingUserEntityName", ""),
            ],
        ),
        environment("profile", &[resolver("emailMatchingUserEntityProfileEmail", "")]),
        environment(
            "localpart",
            &[resolver(
                "emailLocalPartMatchingUserEntityName",
                "              allowedDomains: [example.com]\n",
            )],
        ),
        environment("annotation", &[resolver("emailMatchingUserEntityAnnotation", "")]),
        environment("userid", &[resolver("userIdMatchingUserEntityAnnotation", "")]),
        environment("lenient", &[resolver("emailMatchingUserEntityProfileEmail", allow)]),
    ]
    .concat()
}

/// The plugin on a real port, with the provider it signs in with.
struct Portal {
    app: AuthApp,
    base: String,
    provider: Provider,
}

impl Portal {
    async fn start(users: Users, provider_args: &[&str]) -> Portal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let provider = Provider::start(&format!("{base}/api/auth/oidc/handler/frame"), provider_args).await;
        let app = AuthApp::start_at(&base, &portal_config(&provider.metadata_url()), users).await;
        app.serve(listener);
        Portal { app, base, provider }
    }

    /// The start route of `env` for the popup flow (plus `extra` query parameters).
    fn start_url(&self, env: &str, extra: &str) -> String {
        format!("{}/api/auth/oidc/start?env={env}&origin={}{extra}", self.base, encode(&self.base))
    }

    /// The audit entries of `action`, oldest first.
    async fn audit(&self, action: &str) -> Vec<AuditEntry> {
        let query =
            AuditQuery { action: Some(ActionFilter::Exact(action.to_owned())), ..AuditQuery::default() };
        let (mut entries, _) = self.app.store.list(&query).await.expect("audit log");
        entries.sort_by_key(|entry| entry.id);
        entries
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A query parameter of a URL.
fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A URL with one query parameter replaced.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a URL");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(key, old)| (key.to_string(), if key == name { value.to_owned() } else { old.into_owned() }))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.into()
}

/// A `state` with one of its keys replaced.
fn tampered_state(state: &str, key: &str, value: &str) -> String {
    let text = String::from_utf8(hex::decode(state).expect("hex")).expect("utf-8");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
        .map(|(name, old)| (name.to_string(), if name == key { value.to_owned() } else { old.into_owned() }))
        .collect();
    hex::encode(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// A client that keeps cookies like a browser and follows no redirect by itself.
struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    fn new() -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser { http, jar }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("an answer");
        let status = response.status();
        let headers = response.headers().clone();
        let body = String::from_utf8_lossy(&response.bytes().await.expect("body")).into_owned();
        Answer { status, headers, body }
    }

    async fn get(&self, url: &str) -> Answer {
        self.send(self.http.get(url)).await
    }

    /// The cookie `name` the browser would send to `url`.
    fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let header = self.jar.cookies(&url.parse().expect("a URL"))?;
        header.to_str().expect("ascii").split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    fn set_cookie(&self, url: &str, cookie: &str) {
        self.jar.add_cookie_str(cookie, &url.parse().expect("a URL"));
    }

    /// Goes from `url` through the provider's pages — logging in as `account`, consenting
    /// when asked — until the provider sends the browser to the portal at `portal`; that
    /// address, not yet followed.
    async fn through_provider(&self, url: &str, account: &str, portal: &str) -> String {
        let mut url = url.to_owned();
        for _ in 0..20 {
            if url.starts_with(portal) {
                return url;
            }
            let page = self.get(&url).await;
            url = if page.status.is_redirection() {
                location(&page, &url)
            } else if page.status == StatusCode::OK && page.body.contains("<form") {
                let (action, mut fields) = form_of(&page.body, &url);
                if page.body.contains("name=\"login\"") {
                    fields.push(("login".to_owned(), account.to_owned()));
                    fields.push(("password".to_owned(), "any password".to_owned()));
                }
                let answer = self.send(self.http.post(&action).form(&fields)).await;
                assert!(answer.status.is_redirection(), "the provider's form at {action}: {}", answer.body);
                location(&answer, &action)
            } else {
                panic!("unexpected page at {url}: {} {}", page.status, page.body);
            };
        }
        panic!("the provider did not send the browser back");
    }

    /// Opens `start` (a start route of the portal), then goes through the provider as
    /// `account`: the provider's authorization URL and the callback address it sends back.
    async fn authorize(&self, start: &str, account: &str, portal: &Portal) -> (String, String) {
        let started = self.get(start).await;
        assert_eq!(started.status, StatusCode::FOUND, "{}", started.body);
        let authorization = location(&started, start);
        assert!(authorization.starts_with(&portal.provider.issuer), "{authorization}");
        let callback = self.through_provider(&authorization, account, &portal.base).await;
        (authorization, callback)
    }

    /// Signs `account` in through the popup flow of `env`: the popup page's payload.
    async fn popup_sign_in(&self, portal: &Portal, env: &str, account: &str) -> Value {
        let (_, callback) = self.authorize(&portal.start_url(env, ""), account, portal).await;
        popup_payload(&self.get(&callback).await, &portal.base)
    }
}

/// The `Location` of a redirect, resolved against the page it came from.
fn location(answer: &Answer, from: &str) -> String {
    let location = answer.headers.get("location").unwrap_or_else(|| panic!("no Location: {}", answer.body));
    let base = url::Url::parse(from).expect("a URL");
    base.join(location.to_str().expect("ascii")).expect("a URL").into()
}

/// The first form of a page: its action (resolved against the page) and its hidden fields.
fn form_of(html: &str, page: &str) -> (String, Vec<(String, String)>) {
    let form = &html[html.find("<form").expect("a form")..];
    let form = &form[..form.find("</form>").expect("the form's end")];
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[start..start + tag[start..].find('"')?].replace("&amp;", "&"))
    };
    let action = attribute(form, "action").expect("an action");
    let hidden = form
        .split("<input")
        .skip(1)
        .filter(|input| input.contains("type=\"hidden\""))
        .filter_map(|input| Some((attribute(input, "name")?, attribute(input, "value").unwrap_or_default())))
        .collect();
    (url::Url::parse(page).expect("a URL").join(&action).expect("a URL").into(), hidden)
}

fn error_of(payload: &Value) -> (String, String) {
    let error = &payload["error"];
    assert!(payload.get("response").is_none(), "{payload}");
    (
        error["name"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn each_resolver_signs_in_its_user_with_groups_and_parent_groups() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let team_b = |user: &str| vec![format!("user:default/{user}"), "group:default/team-b".to_owned()];
    let cases = [
        ("localpart", "jane", "user:default/jane", JANE_OWNERSHIP.map(str::to_owned).to_vec()),
        (
            "userid",
            "jane",
            "user:default/jd",
            vec!["user:default/jd".into(), "group:default/team-a".into(), "group:default/department".into()],
        ),
        ("profile", "joe", "user:default/joseph", team_b("joseph")),
        ("annotation", "joe", "user:default/bloggs", team_b("bloggs")),
    ];
    for (env, account, user, ownership) in cases {
        let payload = Browser::new().popup_sign_in(&portal, env, account).await;
        let response = &payload["response"];
        assert_eq!(
            response["backstageIdentity"]["identity"],
            json!({"type": "user", "userEntityRef": user, "ownershipEntityRefs": ownership}),
            "{env}: {payload}"
        );
        let token = response["backstageIdentity"]["token"].as_str().expect("a Backstage token");
        let whoami =
            portal.app.get("/api/catalog/whoami", &[("authorization", &format!("Bearer {token}"))]).await;
        assert_eq!(whoami.json()["userEntityRef"], user, "the token works as a bearer");
        let expected_email = if account == "jane" { "jane@example.com" } else { "joe@example.org" };
        assert_eq!(response["profile"]["email"], expected_email);
        let info = &response["providerInfo"];
        assert!(info["accessToken"].as_str().is_some_and(|token| !token.is_empty()), "{info}");
        assert!(info["scope"].as_str().expect("scope").contains("openid"), "{info}");
        assert!(info["expiresInSeconds"].as_u64().is_some(), "{info}");
        // This provider keeps the email out of code flow ID tokens: it came from user info.
        let id_token = info["idToken"].as_str().expect("an ID token");
        assert_eq!(jwt_part(id_token, 1).get("email"), None);
    }

    // allowedDomains: example.org is not among them, and there is no user `joe` anyway.
    let refused = Browser::new().popup_sign_in(&portal, "localpart", "joe").await;
    assert_eq!(error_of(&refused), ("NotAllowedError".into(), SIGN_IN_UNRESOLVED.into()));

    let signed_in: Vec<(String, String, AuditOutcome)> = portal
        .audit("auth.sign-in")
        .await
        .into_iter()
        .map(|entry| (entry.actor, entry.target, entry.outcome))
        .collect();
    assert_eq!(
        signed_in,
        [
            ("user:default/jane".into(), "oidc".into(), AuditOutcome::Succeeded),
            ("user:default/jd".into(), "oidc".into(), AuditOutcome::Succeeded),
            ("user:default/joseph".into(), "oidc".into(), AuditOutcome::Succeeded),
            ("user:default/bloggs".into(), "oidc".into(), AuditOutcome::Succeeded),
            ("joe@example.org".into(), "oidc".into(), AuditOutcome::Failed),
        ]
    );
}

#[tokio::test]
async fn an_unknown_user_is_refused_unless_signing_in_without_the_catalog_is_allowed() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let refused = Browser::new().popup_sign_in(&portal, "profile", "mallory").await;
    assert_eq!(error_of(&refused), ("NotAllowedError".into(), SIGN_IN_UNRESOLVED.into()));
    let failures = portal.audit("auth.sign-in").await;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        (failures[0].actor.as_str(), failures[0].outcome),
        ("mallory@example.net", AuditOutcome::Failed)
    );
    assert_eq!(failures[0].details["error"], SIGN_IN_UNRESOLVED);
    assert_eq!(failures[0].details["flow"], "popup");

    let lenient = Browser::new().popup_sign_in(&portal, "lenient", "mallory").await;
    assert_eq!(
        lenient["response"]["backstageIdentity"]["identity"],
        json!({"type": "user", "userEntityRef": "user:default/mallory", "ownershipEntityRefs": ["user:default/mallory"]}),
        "{lenient}"
    );
    // The option only applies where the catalog has nobody: Joe is still found.
    let joe = Browser::new().popup_sign_in(&portal, "lenient", "joe").await;
    assert_eq!(joe["response"]["backstageIdentity"]["identity"]["userEntityRef"], "user:default/joseph");
}

/// The `href` of the OpenID Connect provider's link on the sign-in page.
fn oidc_link(sign_in_page: &str) -> String {
    let item = sign_in_page.split("data-provider=\"oidc\"").nth(1).expect("the OIDC provider is listed");
    let href = item.split("href=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a link");
    // Askama writes `&` as `&#38;`.
    href.replace("&#38;", "&").replace("&amp;", "&")
}

#[tokio::test]
async fn the_sign_in_page_signs_in_with_the_provider_and_returns_to_the_page() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let browser = Browser::new();
    let page = browser.get(&format!("{}/sign-in?returnTo=%2Fcatalog%3Fkind%3Dapi", portal.base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign in with OpenID Connect"), "{}", page.body);
    assert!(page.body.contains("Continue as guest"), "every configured provider is listed");
    let link = oidc_link(&page.body);
    assert_eq!(param(&link, "flow").as_deref(), Some("redirect"));
    assert_eq!(param(&link, "env").as_deref(), Some("development"));

    let (_, callback) = browser.authorize(&link, "jane", &portal).await;
    let back = browser.get(&callback).await;
    assert_eq!(back.status, StatusCode::FOUND, "{}", back.body);
    let done = location(&back, &callback);
    assert_eq!(done, format!("{}/sign-in/done?returnTo=%2Fcatalog%3Fkind%3Dapi", portal.base));
    let session = back.session().expect("the session cookie is set");
    let verified = portal.app.get("/whoami", &[("cookie", &format!("portico-session={session}"))]).await;
    assert_eq!(verified.json()["userEntityRef"], "user:default/jane", "the cookie holds a valid token");
    assert!(
        back.cookies()
            .iter()
            .any(|cookie| cookie.starts_with("portico-session=") && cookie.contains("HttpOnly"))
    );
    assert!(
        browser.cookie(&format!("{}/api/auth/oidc/refresh", portal.base), "oidc-refresh-token").is_some()
    );
    assert_eq!(browser.cookie(&callback, "oidc-nonce"), None, "the nonce is used up");

    let finished = browser.get(&done).await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER);
    assert_eq!(finished.headers["location"], "/catalog?kind=api");
    let whoami = browser.get(&format!("{}/whoami", portal.base)).await.json();
    assert_eq!(whoami["userEntityRef"], "user:default/jane");
    assert_eq!(whoami["ownershipEntityRefs"], json!(JANE_OWNERSHIP));
    let sign_in_page = browser.get(&format!("{}/sign-in", portal.base)).await;
    assert!(
        sign_in_page.body.contains("You are signed in as <code>user:default/jane</code>"),
        "{}",
        sign_in_page.body
    );

    let signed_out = browser.send(browser.http.post(format!("{}/sign-out", portal.base))).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(
        signed_out.cookies().iter().any(|cookie| cookie.starts_with("oidc-refresh-token=;")),
        "{:?}",
        signed_out.cookies()
    );
    assert_eq!(browser.get(&format!("{}/whoami", portal.base)).await.json(), json!({"type": "none"}));
    assert!(
        browser.cookie(&format!("{}/api/auth/oidc/refresh", portal.base), "oidc-refresh-token").is_none()
    );

    let sign_in = &portal.audit("auth.sign-in").await[0];
    assert_eq!(
        (sign_in.actor.as_str(), sign_in.target.as_str(), sign_in.outcome),
        ("user:default/jane", "oidc", AuditOutcome::Succeeded)
    );
    assert_eq!(sign_in.details["flow"], "redirect");
    let sign_out = &portal.audit("auth.sign-out").await[0];
    assert_eq!((sign_out.actor.as_str(), sign_out.target.as_str()), ("user:default/jane", "session"));
}

#[tokio::test]
async fn a_user_the_catalog_does_not_know_gets_a_page_saying_what_to_do() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let browser = Browser::new();
    let page = browser.get(&format!("{}/sign-in?returnTo=%2Fdocs", portal.base)).await;
    let (_, callback) = browser.authorize(&oidc_link(&page.body), "mallory", &portal).await;
    let back = browser.get(&callback).await;
    assert_eq!(back.status, StatusCode::FOUND);
    assert!(back.session().is_none(), "no session for a refused sign-in");
    let done = location(&back, &callback);
    assert_eq!(param(&done, "error").as_deref(), Some(SIGN_IN_UNRESOLVED));
    let refusal = browser.get(&done).await;
    assert_eq!(refusal.status, StatusCode::FORBIDDEN);
    assert!(refusal.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    for text in [
        SIGN_IN_UNRESOLVED,
        "Ask a portal administrator to add you to the catalog",
        "Try another sign-in method",
    ] {
        assert!(refusal.body.contains(text), "{text}: {}", refusal.body);
    }
    assert!(refusal.body.contains("href=\"/sign-in?returnTo=%2Fdocs\""), "{}", refusal.body);
    assert_eq!(browser.get(&format!("{}/whoami", portal.base)).await.json(), json!({"type": "none"}));
    let refused = &portal.audit("auth.sign-in").await[0];
    assert_eq!((refused.actor.as_str(), refused.outcome), ("mallory@example.net", AuditOutcome::Failed));
    assert_eq!(refused.details["flow"], "redirect");
}

#[tokio::test]
async fn return_addresses_never_lead_off_site() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let browser = Browser::new();
    let evil = encode("https://evil.test/");
    let start =
        browser.get(&portal.start_url("development", &format!("&flow=redirect&redirectUrl={evil}"))).await;
    assert_eq!(start.status, StatusCode::FORBIDDEN, "{}", start.body);
    assert!(start.headers.get("location").is_none());

    for off_site in [evil.as_str(), "%2F%2Fevil.test", "javascript%3Aalert(1)"] {
        let page = browser.get(&format!("{}/sign-in?returnTo={off_site}", portal.base)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{off_site}");
        assert!(!page.body.contains("evil.test"), "{off_site}");
        let done = browser.get(&format!("{}/sign-in/done?returnTo={off_site}", portal.base)).await;
        assert_eq!(done.status, StatusCode::BAD_REQUEST, "{off_site}");
        assert!(done.headers.get("location").is_none());
    }

    // A state whose redirectUrl was changed on the way leads nowhere either.
    let back = encode(&format!("{}/sign-in/done?returnTo=%2F", portal.base));
    let (_, callback) = browser
        .authorize(
            &portal.start_url("development", &format!("&flow=redirect&redirectUrl={back}")),
            "jane",
            &portal,
        )
        .await;
    let state = param(&callback, "state").expect("state");
    let tampered =
        with_param(&callback, "state", &tampered_state(&state, "redirectUrl", "https://evil.test/"));
    let answer = browser.get(&tampered).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer.headers.get("location").is_none() && answer.session().is_none());
    assert_eq!(answer.json()["error"]["message"], "Redirect URL 'https://evil.test/' is not allowed");
}

#[tokio::test]
async fn state_nonce_and_origin_are_checked_before_any_code_is_used() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let browser = Browser::new();
    let start = browser.get(&portal.start_url("localpart", "&scope=groups")).await;
    let nonce_cookie =
        start.cookies().into_iter().find(|c| c.starts_with("oidc-nonce=")).expect("a nonce cookie");
    assert!(
        nonce_cookie.contains("Path=/api/auth/oidc/handler") && nonce_cookie.contains("Max-Age=600"),
        "{nonce_cookie}"
    );
    let authorization = location(&start, &portal.start_url("localpart", ""));
    let state = param(&authorization, "state").expect("state");
    let decoded = String::from_utf8(hex::decode(&state).expect("hex")).expect("utf-8");
    let nonce =
        browser.cookie(&format!("{}/api/auth/oidc/handler/frame", portal.base), "oidc-nonce").expect("nonce");
    assert_eq!(
        decoded,
        format!("nonce={}&env=localpart&origin={}&scope=groups", encode(&nonce), encode(&portal.base))
    );
    assert_eq!(param(&authorization, "nonce").as_deref(), Some(nonce.as_str()));
    assert_eq!(STANDARD.decode(&nonce).expect("base64").len(), 16);
    assert_eq!(param(&authorization, "scope").as_deref(), Some("openid profile email groups"));

    let callback = browser.through_provider(&authorization, "jane", &portal.base).await;
    // Another browser, without the nonce cookie.
    let stranger = Browser::new();
    assert_eq!(
        error_of(&popup_payload(&stranger.get(&callback).await, &portal.base)),
        ("NotAllowedError".into(), "Auth response is missing cookie nonce".into())
    );
    // A state with another nonce.
    let other_nonce =
        with_param(&callback, "state", &tampered_state(&state, "nonce", "AAAAAAAAAAAAAAAAAAAAAA=="));
    assert_eq!(error_of(&popup_payload(&browser.get(&other_nonce).await, &portal.base)).1, "Invalid nonce");
    // States too broken to choose an environment are plain errors.
    let no_env = with_param(&callback, "state", &hex::encode(format!("nonce={}", encode(&nonce))));
    let answer = browser.get(&no_env).await;
    assert_eq!(
        (answer.status, answer.json()["error"]["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("OAuth state is invalid, missing env"))
    );
    let unknown_env = with_param(&callback, "state", &tampered_state(&state, "env", "staging"));
    let answer = browser.get(&unknown_env).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.json()["error"]["message"],
        "No configuration available for the 'staging' environment of this provider."
    );
    let answer = browser.get(&format!("{}/api/auth/oidc/handler/frame?code=x", portal.base)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = browser.get(&format!("{}/api/auth/oidc/start?origin=x", portal.base)).await;
    assert_eq!(answer.json()["error"]["message"], "Must specify 'env' query to select environment");
    // The checks refused the code before using it: the genuine callback still signs in once.
    assert_eq!(portal.provider.count("/token").await, 0, "no code was exchanged");
    let payload = popup_payload(&browser.get(&callback).await, &portal.base);
    assert_eq!(payload["response"]["backstageIdentity"]["identity"]["userEntityRef"], "user:default/jane");
    let replayed = popup_payload(&browser.get(&callback).await, &portal.base);
    assert_eq!(error_of(&replayed).1, "Auth response is missing cookie nonce", "the nonce is used up");

    // An origin that is not the app's.
    let evil = Browser::new();
    let start =
        format!("{}/api/auth/oidc/start?env=localpart&origin={}", portal.base, encode("https://evil.test"));
    let (_, callback) = evil.authorize(&start, "jane", &portal).await;
    let payload = popup_payload(&evil.get(&callback).await, &portal.base);
    assert_eq!(
        error_of(&payload),
        ("NotAllowedError".into(), "Origin 'https://evil.test' is not allowed".into())
    );

    // Cancelling at the provider (its abort link answers `access_denied`).
    let cancel = Browser::new();
    let started = cancel.get(&portal.start_url("localpart", "")).await;
    let mut url = location(&started, &portal.base);
    let abort = loop {
        let page = cancel.get(&url).await;
        if page.status == StatusCode::OK {
            break format!("{}/abort", url.trim_end_matches('/'));
        }
        url = location(&page, &url);
    };
    let back = cancel.through_provider(&abort, "jane", &portal.base).await;
    let (name, message) = error_of(&popup_payload(&cancel.get(&back).await, &portal.base));
    assert_eq!(name, "AuthenticationError");
    assert!(message.starts_with("The sign-in provider did not sign you in: access_denied"), "{message}");
}

#[tokio::test]
async fn the_pkce_verifier_is_sent_and_the_provider_enforces_it() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let browser = Browser::new();
    let (authorization, callback) =
        browser.authorize(&portal.start_url("localpart", ""), "jane", &portal).await;
    assert_eq!(param(&authorization, "code_challenge_method").as_deref(), Some("S256"));
    let challenge = param(&authorization, "code_challenge").expect("a code challenge");
    let verifier_cookie =
        browser.cookie(&callback, "oidc-code-verifier").expect("the verifier is kept in a cookie");
    let payload = popup_payload(&browser.get(&callback).await, &portal.base);
    assert!(payload.get("response").is_some(), "{payload}");
    let token_requests: Vec<Value> =
        portal.provider.requests().await.into_iter().filter(|request| request["path"] == "/token").collect();
    assert_eq!(token_requests.len(), 1);
    let verifier = token_requests[0]["code_verifier"].as_str().expect("the verifier was sent");
    assert_eq!(verifier, verifier_cookie);
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    assert_eq!(URL_SAFE_NO_PAD.encode(digest), challenge, "S256 of the verifier is the challenge");

    // Another verifier: the provider refuses the code.
    let (_, callback) = browser.authorize(&portal.start_url("localpart", ""), "jane", &portal).await;
    browser.set_cookie(
        &callback,
        "oidc-code-verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk; Path=/api/auth/oidc/handler",
    );
    let (name, message) = error_of(&popup_payload(&browser.get(&callback).await, &portal.base));
    assert_eq!(name, "AuthenticationError");
    assert!(
        message.starts_with("The sign-in provider refused the authorization code: invalid_grant"),
        "{message}"
    );
}

#[tokio::test]
async fn id_tokens_for_others_expired_or_signed_with_other_keys_are_refused() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &[]).await;
    let browser = Browser::new();
    let cases = [
        (json!({"claims": {"aud": "another-client"}}), "it is not for this client ('portico')"),
        (
            json!({"claims": {"aud": ["another-client", CLIENT_ID]}}),
            "it names several audiences but not this client as its authorized party",
        ),
        (json!({"claims": {"exp": now() - 3600, "iat": now() - 7200}}), "it has expired"),
        (json!({"claims": {"iss": "https://impostor.test"}}), "it was not issued by the configured provider"),
        (json!({"claims": {"nonce": "replayed"}}), "its nonce is not the one this sign-in started with"),
        (json!({"key": "foreign"}), "no key of the provider's JWKS signed it"),
        (json!({"claims": {"sub": null}}), "it has no 'sub' claim"),
    ];
    for (change, reason) in cases {
        portal.provider.next_id_token(change.clone()).await;
        let (name, message) = error_of(&browser.popup_sign_in(&portal, "localpart", "jane").await);
        assert_eq!(name, "AuthenticationError", "{change}");
        assert_eq!(
            message,
            format!("The ID token from the sign-in provider was refused: {reason}"),
            "{change}"
        );
    }
    // Re-signed but otherwise untouched, the token is accepted: the refusals were the changes.
    portal.provider.next_id_token(json!({"claims": {"email": "jane@example.com"}})).await;
    let accepted = browser.popup_sign_in(&portal, "localpart", "jane").await;
    assert_eq!(accepted["response"]["backstageIdentity"]["identity"]["userEntityRef"], "user:default/jane");
    let failed = portal.audit("auth.sign-in").await;
    assert_eq!(failed.iter().filter(|entry| entry.outcome == AuditOutcome::Failed).count(), 7);
}

#[tokio::test]
async fn rotated_provider_keys_are_picked_up_by_reading_the_jwks_again_once() {
    if OidcProvider::missing() {
        return;
    }
    let portal = Portal::start(Users::sample(), &["--alg", "ES256"]).await;
    let browser = Browser::new();
    let kid = |payload: &Value| {
        let id_token = payload["response"]["providerInfo"]["idToken"].as_str().expect("an ID token");
        let header = jwt_part(id_token, 0);
        assert_eq!(header["alg"], "ES256");
        header["kid"].as_str().expect("kid").to_owned()
    };
    let first = browser.popup_sign_in(&portal, "localpart", "jane").await;
    let second = browser.popup_sign_in(&portal, "localpart", "jane").await;
    assert_eq!(kid(&first), kid(&second));
    assert_eq!(portal.provider.count("/jwks").await, 1, "the keys are kept between sign-ins");
    assert_eq!(
        portal.provider.count("/.well-known/openid-configuration").await,
        1,
        "so is the discovery document"
    );

    let rotated = portal.provider.rotate_keys().await;
    let third = browser.popup_sign_in(&portal, "localpart", "jane").await;
    assert_eq!(
        third["response"]["backstageIdentity"]["identity"]["userEntityRef"], "user:default/jane",
        "{third}"
    );
    assert!(rotated.contains(&kid(&third)) && kid(&third) != kid(&first));
    assert_eq!(portal.provider.count("/jwks").await, 2, "read again once, for the unknown key id");
    browser.popup_sign_in(&portal, "localpart", "jane").await;
    assert_eq!(portal.provider.count("/jwks").await, 2);
}

#[tokio::test]
async fn the_discovery_document_is_read_again_after_a_failure() {
    if OidcProvider::missing() {
        return;
    }
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let metadata_url = format!("http://localhost:{port}/.well-known/openid-configuration");
    let app = AuthApp::start_at(&base, &portal_config(&metadata_url), Users::sample()).await;
    app.serve(listener);
    let browser = Browser::new();
    let start = format!("{base}/api/auth/oidc/start?env=localpart&origin={}", encode(&base));
    let (name, message) = error_of(&popup_payload(&browser.get(&start).await, &base));
    assert_eq!(name, "ServiceUnavailableError");
    assert!(message.starts_with("The sign-in provider's discovery document could not be read"), "{message}");

    let provider =
        Provider::start(&format!("{base}/api/auth/oidc/handler/frame"), &["--port", &port.to_string()]).await;
    let portal = Portal { app, base, provider };
    let payload = browser.popup_sign_in(&portal, "localpart", "jane").await;
    assert_eq!(payload["response"]["backstageIdentity"]["identity"]["userEntityRef"], "user:default/jane");
}

#[tokio::test]
async fn refresh_runs_the_resolvers_again_and_logout_ends_the_provider_session() {
    if OidcProvider::missing() {
        return;
    }
    let users = Users::sample();
    let portal = Portal::start(users.clone(), &[]).await;
    let browser = Browser::new();
    let signed_in = browser.popup_sign_in(&portal, "localpart", "jane").await;
    let token = signed_in["response"]["backstageIdentity"]["token"].as_str().expect("token").to_owned();
    let refresh_url = format!("{}/api/auth/oidc/refresh?env=localpart", portal.base);
    let refresh_token = browser.cookie(&refresh_url, "oidc-refresh-token").expect("the refresh cookie");
    let refresh = |with_header: bool| {
        let request = browser.http.post(&refresh_url);
        let request =
            if with_header { request.header("x-requested-with", "XMLHttpRequest") } else { request };
        browser.send(request)
    };

    let unrequested = refresh(false).await;
    assert_eq!(unrequested.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unrequested.json()["error"]["message"], "Invalid X-Requested-With header");

    // Jane joins another team: a refresh finds her again, with it.
    users.add(user("jane", json!({}), json!({}), &["group:default/team-a", "group:default/team-b"]));
    let refreshed = refresh(true).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let body = refreshed.json();
    assert_eq!(
        body["backstageIdentity"]["identity"]["ownershipEntityRefs"],
        json!([
            "user:default/jane",
            "group:default/team-a",
            "group:default/department",
            "group:default/team-b"
        ])
    );
    assert_eq!(body["profile"]["email"], "jane@example.com");
    assert!(body["providerInfo"]["accessToken"].is_string() && body["providerInfo"]["idToken"].is_string());

    // Removed from the catalog, she is not signed in again.
    let jane = users.remove("user:default/jane");
    let refused = refresh(true).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.json()["error"]["message"],
        format!("Refresh failed; caused by NotAllowedError: {SIGN_IN_UNRESOLVED}")
    );
    users.add(jane);

    let logout_url = format!("{}/api/auth/oidc/logout?env=localpart", portal.base);
    let unrequested = browser.send(browser.http.post(&logout_url)).await;
    assert_eq!(unrequested.status, StatusCode::UNAUTHORIZED);
    let logout = browser
        .send(browser.http.post(&logout_url).header("x-requested-with", "XMLHttpRequest").bearer_auth(&token))
        .await;
    assert_eq!(logout.status, StatusCode::OK);
    assert!(logout.body.is_empty());
    assert!(
        logout.cookies().iter().any(
            |cookie| cookie.starts_with("oidc-refresh-token=;") && cookie.contains("Path=/api/auth/oidc")
        )
    );
    let missing = refresh(true).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.json()["error"]["message"],
        "Refresh failed; caused by InputError: Missing session cookie"
    );
    assert_eq!(portal.provider.count("/token/revocation").await, 1);

    // The provider revoked the refresh token: it no longer works, even if kept.
    browser.set_cookie(&refresh_url, &format!("oidc-refresh-token={refresh_token}; Path=/api/auth/oidc"));
    let revoked = refresh(true).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    let message = revoked.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.starts_with("Refresh failed; caused by AuthenticationError: The sign-in provider refused the refresh token: invalid_grant"), "{message}");

    let sign_out = &portal.audit("auth.sign-out").await[0];
    assert_eq!((sign_out.actor.as_str(), sign_out.target.as_str()), ("user:default/jane", "oidc"));
}

#[tokio::test]
async fn secrets_never_reach_logs_error_bodies_or_debug_output() {
    if OidcProvider::missing() {
        return;
    }
    let (captured, _guard) = LogCapture::install();

    let portal = Portal::start(Users::sample(), &[]).await;
    let browser = Browser::new();
    let mut secrets = vec![CLIENT_SECRET.to_owned(), STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))];
    let mut bodies = Vec::new();

    // A successful sign-in and refresh: the code, the verifier and every token.
    let (_, callback) = browser.authorize(&portal.start_url("localpart", ""), "jane", &portal).await;
    secrets.push(param(&callback, "code").expect("a code"));
    secrets.push(browser.cookie(&callback, "oidc-code-verifier").expect("a verifier"));
    let payload = popup_payload(&browser.get(&callback).await, &portal.base);
    let info = &payload["response"]["providerInfo"];
    secrets.extend(["accessToken", "idToken"].map(|name| info[name].as_str().expect(name).to_owned()));
    secrets.push(payload["response"]["backstageIdentity"]["token"].as_str().expect("token").to_owned());
    let refresh_url = format!("{}/api/auth/oidc/refresh?env=localpart", portal.base);
    secrets.push(browser.cookie(&refresh_url, "oidc-refresh-token").expect("refresh token"));
    let refreshed =
        browser.send(browser.http.post(&refresh_url).header("x-requested-with", "XMLHttpRequest")).await;
    secrets.push(refreshed.json()["providerInfo"]["accessToken"].as_str().expect("token").to_owned());

    // Failures carrying a code: a wrong verifier, an ID token signed with another key, an
    // unknown user; and a refresh with a made-up token.
    let (_, callback) = browser.authorize(&portal.start_url("localpart", ""), "jane", &portal).await;
    secrets.push(param(&callback, "code").expect("a code"));
    browser.set_cookie(
        &callback,
        "oidc-code-verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk; Path=/api/auth/oidc/handler",
    );
    bodies.push(browser.get(&callback).await.body);
    portal.provider.next_id_token(json!({"key": "foreign"})).await;
    let (_, callback) = browser.authorize(&portal.start_url("localpart", ""), "jane", &portal).await;
    secrets.push(param(&callback, "code").expect("a code"));
    bodies.push(browser.get(&callback).await.body);
    let (_, callback) =
        Browser::new().authorize(&portal.start_url("localpart", ""), "mallory", &portal).await;
    secrets.push(param(&callback, "code").expect("a code"));
    let made_up = "made-up-refresh-token-0123456789";
    secrets.push(made_up.to_owned());
    browser.set_cookie(&refresh_url, &format!("oidc-refresh-token={made_up}; Path=/api/auth/oidc"));
    bodies.push(
        browser.send(browser.http.post(&refresh_url).header("x-requested-with", "XMLHttpRequest")).await.body,
    );
    secrets.extend(
        portal
            .provider
            .requests()
            .await
            .iter()
            .filter_map(|r| r["code_verifier"].as_str().map(str::to_owned)),
    );

    let logs = captured.text();
    assert!(logs.contains("refused an OIDC sign-in"), "logging was captured: {logs}");
    assert!(
        bodies.iter().all(|body| body.contains("refused") || body.contains("Refresh failed")),
        "{bodies:?}"
    );
    for secret in &secrets {
        assert!(secret.len() >= 16, "a real secret: {secret}");
        assert!(!logs.contains(secret.as_str()), "a secret was logged ({secret}):\n{logs}");
        for body in &bodies {
            assert!(!body.contains(secret.as_str()), "an error shows a secret ({secret}): {body}");
        }
    }

    let config = Config::from_yaml_str(
        &portal_config(&portal.provider.metadata_url()),
        std::path::Path::new("."),
        &|_| None,
    )
    .expect("config");
    let debug = format!("{:?}", AuthConfig::from_config(&config).expect("valid"));
    assert!(debug.contains(CLIENT_ID) && !debug.contains(CLIENT_SECRET), "{debug}");
}
