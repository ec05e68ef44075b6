//! What identity and permissions cost a request, measured through the whole app's router.
//!
//! `cargo bench -p portico-app --bench access` ingests a catalog of 10,000 components owned by
//! 50 groups into two apps: one open (no credentials, permissions off), one with
//! `permission.enabled` and a per-owner read policy (a user reads what their groups own, plus
//! every other permission allowed). It prints median and p95 of:
//!
//! * one entity by name — open and anonymous, then with a user token and the policy: the
//!   difference is what token verification and the policy decision add to a request;
//! * a by-query page of 20 with its total, and the whole component list — unfiltered (the same
//!   signed-in user on the open portal, so both sides verify a token), then as a user of one
//!   group (200 readable entities) and of 25 groups (half of them), both with the user's
//!   readable set cached and computed afresh (a user never seen before).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase, TokenSigner, write_file};

const ENTITIES: usize = 10_000;
const GROUPS: usize = 50;
const RUNS: usize = 200;

const PER_OWNER_POLICY: &str = r#"
@id("read-what-you-own")
permit (principal, action == Portico::Action::"catalog.entity.read", resource is Portico::Entity)
when { principal is Portico::User && resource has owner && principal.ownership_refs.contains(resource.owner) };

@id("everything-else")
permit (principal, action, resource) unless { action == Portico::Action::"catalog.entity.read" };
"#;

fn catalog() -> String {
    (0..ENTITIES)
        .map(|i| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: service-{i:05}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-{:02}\n",
                i % GROUPS
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

async fn app(permissions: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    write_file(dir.path(), "catalog.yaml", &catalog());
    write_file(dir.path(), "policy.cedar", PER_OWNER_POLICY);
    let mut config = "catalog:\n  locations:\n    - type: file\n      target: catalog.yaml\n".to_owned();
    if permissions {
        config.push_str("permission:\n  enabled: true\n  policies:\n    - policy.cedar\n");
    }
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    app
}

/// Median and p95 of `RUNS` requests, each with the token `token(run)`.
async fn measure(app: &TestApp, uri: &str, token: impl Fn(usize) -> Option<String>) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let mut request = Request::get(uri);
        if let Some(token) = token(run) {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Body::empty()).expect("request");
        let started = Instant::now();
        let response = app.send(request).await;
        times.push(started.elapsed());
        assert_eq!(response.status, StatusCode::OK, "{uri}: {}", response.text());
    }
    times.sort_unstable();
    (times[RUNS / 2], times[RUNS * 95 / 100])
}

fn print(label: &str, (median, p95): (Duration, Duration)) {
    println!("{label:<62} median {:>9.1} µs   p95 {:>9.1} µs", micros(median), micros(p95));
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn groups(count: usize) -> Vec<String> {
    (0..count).map(|g| format!("group:default/team-{g:02}")).collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let open = app(false).await;
    let guarded = app(true).await;
    let signer = TokenSigner::join(&guarded).await;
    let open_signer = TokenSigner::join(&open).await;
    let token = |user: &str, groups: &[String]| {
        let mut refs = vec![user.to_owned()];
        refs.extend(groups.iter().cloned());
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        signer.token(user, &refs)
    };
    // The same user signed in to the open portal: the token is verified, nothing is filtered.
    let open_token = open_signer.token("user:default/one", &["user:default/one", "group:default/team-00"]);
    let one_group = token("user:default/one", &groups(1));
    let half = token("user:default/half", &groups(GROUPS / 2));
    // Tokens of users never seen before: their readable set is computed afresh.
    let fresh_one: Vec<String> =
        (0..RUNS).map(|i| token(&format!("user:default/new-{i}"), &groups(1))).collect();
    let fresh_half: Vec<String> =
        (0..RUNS).map(|i| token(&format!("user:default/newer-{i}"), &groups(GROUPS / 2))).collect();

    println!("{ENTITIES} components, {GROUPS} owner groups, {RUNS} requests each\n");
    let by_name = "/api/catalog/entities/by-name/component/default/service-00000";
    let open_one = measure(&open, by_name, |_| None).await;
    let guarded_one = measure(&guarded, by_name, |_| Some(one_group.clone())).await;
    print("one entity: open, anonymous", open_one);
    print("one entity: user token + per-owner policy", guarded_one);
    println!(
        "  added by token verification and the policy decision: {:.1} µs (median)\n",
        micros(guarded_one.0.saturating_sub(open_one.0))
    );

    for (label, uri) in [
        ("by-query page of 20 with total", "/api/catalog/entities/by-query?filter=kind=component&limit=20"),
        ("whole component list", "/api/catalog/entities?filter=kind=component"),
    ] {
        let anonymous = measure(&open, uri, |_| None).await;
        print(&format!("{label}: open, anonymous"), anonymous);
        let unfiltered = measure(&open, uri, |_| Some(open_token.clone())).await;
        print(&format!("{label}: open, signed in (unfiltered)"), unfiltered);
        for (who, cached, fresh) in [("1 group", &one_group, &fresh_one), ("25 groups", &half, &fresh_half)] {
            let warm = measure(&guarded, uri, |_| Some(cached.clone())).await;
            let cold = measure(&guarded, uri, |run| Some(fresh[run].clone())).await;
            print(&format!("{label}: filtered, {who}, cached"), warm);
            print(&format!("{label}: filtered, {who}, first request"), cold);
            println!(
                "  ratio to unfiltered (median): cached {:.2}×, first request {:.2}×",
                micros(warm.0) / micros(unfiltered.0),
                micros(cold.0) / micros(unfiltered.0)
            );
        }
        println!();
    }
}
