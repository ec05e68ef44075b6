//! Signing in with an OpenID Connect provider in the browser: the real `oidc-provider` package
//! (`compat/oidc-provider/server.mjs`, run by node on `localhost`) and the whole app (on
//! `127.0.0.1`, so the two keep separate cookies) with a small catalog of users. The person
//! goes from the portal's sign-in page through the provider's own login and consent pages and
//! back, signed in; someone the catalog does not know ends on the refusal page.
//!
//! Needs `npm ci --prefix compat/oidc-provider --no-audit --no-fund` (CI runs it); without it
//! these tests fail saying so. Screenshots of the sign-in and refusal pages in both themes go
//! to the harness's screenshot folder.

use portico_app::Portico;
use portico_config::Config;
use portico_testkit::OidcProvider;
use serde_json::json;

use super::{Harness, enabled, type_into};

const CLIENT_ID: &str = "portico";
const CLIENT_SECRET: &str = "browser-test-client-secret";

/// Jane (named `jane-doe` here, so only her profile email finds her: the first resolver, which
/// searches the catalog), in team-a under the department; the provider's `mallory` is nobody.
const USERS: &str = "apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: jane-doe
spec:
  profile:
    displayName: Jane Doe
    email: jane@example.com
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  parent: department
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: department
spec:
  type: department
  children: [team-a]
";

/// The app with the provider and the users, and a browser (as [`Harness::start`] opens one).
async fn start() -> (Harness, OidcProvider) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let users = dir.path().join("users.yaml");
    std::fs::write(&users, USERS).expect("write the users");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let provider =
        OidcProvider::start(&format!("{base}/api/auth/oidc/handler/frame"), CLIENT_ID, CLIENT_SECRET, &[])
            .await;
    let yaml = format!(
        "app:\n  baseUrl: {base}\nbackend:\n  baseUrl: {base}\n  database:\n    client: better-sqlite3\n    connection: {db}\ncatalog:\n  rules:\n    - allow: [User, Group]\n  locations:\n    - type: file\n      target: {users}\nauth:\n  providers:\n    oidc:\n      development:\n        metadataUrl: {issuer}/.well-known/openid-configuration\n        clientId: {CLIENT_ID}\n        clientSecret: {CLIENT_SECRET}\n        signIn:\n          resolvers:\n            - resolver: emailMatchingUserEntityProfileEmail\n            - resolver: emailLocalPartMatchingUserEntityName\n",
        db = dir.path().join("portico.db").display(),
        users = users.display(),
        issuer = provider.issuer,
    );
    let config = Config::from_yaml_str(&yaml, dir.path(), &|_| None).expect("config");
    let app = Portico::default().build(config).await.expect("app builds");
    app.settle().await;
    tokio::spawn(app.serve_on(listener));
    (Harness::open_browser(dir, base, true).await, provider)
}

/// Console errors on the portal's pages: the provider's pages load a web font from the
/// internet, which test machines cannot reach, and a refused sign-in's page reports its own
/// 403 status.
async fn portal_console_errors(h: &Harness, provider: &OidcProvider) -> Vec<String> {
    h.console_errors()
        .await
        .into_iter()
        .filter(|entry| !entry.starts_with(&provider.issuer) && !entry.contains("fonts.googleapis.com"))
        .filter(|entry| !(entry.contains("/sign-in/done") && entry.contains("403 (Forbidden)")))
        .collect()
}

/// From the sign-in page, through the provider's login and consent pages as `account`, until
/// the browser is back at the portal.
async fn sign_in_at_provider(h: &Harness, provider: &OidcProvider, account: &str) {
    h.click("li[data-provider='oidc'] a.button").await;
    h.wait_for("the provider's login page", "document.querySelector('input[name=login]') !== null").await;
    assert!(h.url().await.starts_with(&provider.issuer), "the provider's own page: {}", h.url().await);
    type_into(h, "input[name=login]", account).await;
    type_into(h, "input[name=password]", "any password").await;
    h.click("button[type=submit]").await;
    h.wait_for(
        "the consent page or the portal",
        "document.querySelector('input[name=prompt][value=consent]') !== null || !location.href.startsWith('http://localhost')",
    )
    .await;
    if h.url().await.starts_with(&provider.issuer) {
        h.click("button[type=submit]").await;
    }
    h.wait_for(
        "the way back to the portal",
        &format!("location.href.startsWith({:?}) && document.readyState === 'complete'", h.base),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_openid_connect_and_out_again() {
    if !enabled("signing_in_with_openid_connect_and_out_again") {
        return;
    }
    let (h, provider) = start().await;
    h.open("/catalog").await;
    h.click("a.sign-in-link").await;
    h.wait_for_path("/sign-in").await;
    assert!(h.url().await.ends_with("/sign-in?returnTo=%2Fcatalog"), "{}", h.url().await);
    let choice = h.text("li[data-provider='oidc']").await;
    assert!(choice.contains("Sign in with OpenID Connect") && choice.contains("localhost"), "{choice}");
    for theme in ["light", "dark"] {
        h.set_theme(theme).await;
        h.open("/sign-in?returnTo=%2Fcatalog").await;
        h.screenshot(&format!("sign-in-oidc-{theme}")).await;
    }
    assert!(portal_console_errors(&h, &provider).await.is_empty());

    sign_in_at_provider(&h, &provider, "jane").await;
    h.wait_for_path("/catalog").await;
    assert_eq!(h.text(".user-menu-name").await, "jane-doe");
    assert_eq!(
        h.js("return document.querySelector('.user-menu summary').title").await,
        json!("user:default/jane-doe")
    );
    let errors = portal_console_errors(&h, &provider).await;
    assert!(errors.is_empty(), "console errors signing in: {errors:#?}");

    // The user menu leads to the identity on the settings page: the user and its groups.
    h.click(".user-menu summary").await;
    h.click(".user-menu a[href='/settings#identity']").await;
    h.wait_for_path("/settings").await;
    let refs = h
        .js("return Array.from(document.querySelectorAll('.identity-refs code')).map(c => c.textContent)")
        .await;
    assert_eq!(refs, json!(["user:default/jane-doe", "group:default/team-a", "group:default/department"]));
    assert_eq!(h.text(".identity-facts .identity-ref").await, "user:default/jane-doe");

    h.click(".user-menu summary").await;
    h.click(".user-menu form button").await;
    h.wait_for_path("/sign-in").await;
    assert_eq!(h.text(".notice").await, "You have signed out.");
    assert_eq!(h.js("return document.querySelector('.user-menu') === null").await, json!(true));
    h.open("/settings").await;
    assert!(h.text("#identity").await.contains("You have not signed in"), "the session is gone");
    let errors = portal_console_errors(&h, &provider).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_the_catalog_does_not_know_is_refused_with_a_page_saying_what_to_do() {
    if !enabled("someone_the_catalog_does_not_know_is_refused_with_a_page_saying_what_to_do") {
        return;
    }
    let (h, provider) = start().await;
    h.open("/sign-in?returnTo=%2Fcatalog").await;
    sign_in_at_provider(&h, &provider, "mallory").await;
    h.wait_for_path("/sign-in/done").await;
    assert_eq!(h.text(".error-code").await, "403");
    assert_eq!(h.text("#error-title").await, "You could not be signed in");
    let message = h.text(".error-message").await;
    assert!(message.starts_with("Failed to sign-in, unable to resolve user identity."), "{message}");
    assert!(message.contains("Ask a portal administrator to add you to the catalog"), "{message}");
    assert_eq!(
        h.js("return document.querySelector('.error-links a').getAttribute('href')").await,
        json!("/sign-in?returnTo=%2Fcatalog"),
        "the first way on is another sign-in, back to the same page"
    );
    assert_eq!(
        h.js("return document.querySelector('a.sign-in-link') !== null").await,
        json!(true),
        "not signed in"
    );
    let refusal = h.js("return location.pathname + location.search").await;
    let refusal = refusal.as_str().expect("the address").to_owned();
    for theme in ["light", "dark"] {
        h.set_theme(theme).await;
        h.open(&refusal).await;
        h.screenshot(&format!("sign-in-refused-{theme}")).await;
    }
    let errors = portal_console_errors(&h, &provider).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // Trying another way, from the refusal page, brings the person back to the sign-in page.
    h.click(".error-links a").await;
    h.wait_for_path("/sign-in").await;
    h.finish().await;
}
