//! The `/create` pages through the whole app: the template list with its filters and
//! refusals, the form wizard (defaults, inline errors, Next/Back, review, create), the live
//! task page and its fragment, cancel and retry, the history, escaping and 404s.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase, TestResponse, write_file};

use crate::support::config_with_locations;

const TEMPLATES: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello
  title: Hello service
  description: Says hello and links to what it made
  tags: [rust, recommended]
spec:
  type: service
  owner: team-a
  presentation:
    buttonLabels:
      createButtonText: Make it so
  parameters:
    - title: Service
      required: [name, owner]
      properties:
        name:
          title: Name
          type: string
          pattern: '^[a-z-]+$'
          ui:autofocus: true
        description:
          title: Description
          type: string
          default: A friendly service
        owner:
          title: Owner
          type: string
          ui:field: OwnerPicker
          ui:options:
            catalogFilter:
              kind: Group
    - title: Details
      properties:
        token:
          title: Token
          type: string
          ui:widget: password
        tier:
          title: Tier
          type: string
          enum: [gold, silver]
          enumNames: [Gold tier, Silver tier]
          default: silver
    - title: Gold extras
      if: ${{ parameters.tier === 'gold' }}
      properties:
        perks:
          title: Perks
          type: string
  steps:
    - id: greet
      name: Greet
      action: debug:log
      input:
        message: 'Hello ${{ parameters.name }}'
  output:
    links:
      - title: Repository
        url: https://git.example.com/${{ parameters.name }}
      - title: Owner
        entityRef: ${{ parameters.owner }}
      - title: Sneaky
        url: javascript:alert(1)
    text:
      - title: Summary
        content: "<script>alert('out')</script> made ${{ parameters.name }}"
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: github-service
  title: GitHub service
  description: Publishes to GitHub
  tags: [go]
spec:
  type: website
  owner: team-b
  steps:
    - id: publish
      action: publish:github
      input: {}
    - id: deploy
      action: acme:deploy
      input: {}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hostile
  title: "<script>alert('title')</script>"
  description: "<img src=x onerror=alert(1)>"
spec:
  type: service
  owner: team-b
  steps:
    - id: log
      action: debug:log
      input:
        message: hi
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: slow
  title: Slow one
spec:
  type: service
  owner: team-a
  steps:
    - id: wait
      name: Wait
      action: debug:wait
      input:
        seconds: 20
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: secretive
spec:
  type: service
  owner: team-a
  secrets:
    schema:
      type: object
      required: [TOKEN]
  steps:
    - id: show
      action: debug:log
      input:
        message: hi
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
  title: Team A
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  children: []
"#;

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = write_file(dir.path(), "templates.yaml", TEMPLATES);
    let config = config_with_locations(&[("file", &path.to_string_lossy())]);
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    app
}

async fn page(app: &TestApp, uri: &str) -> String {
    let response = app.get(uri).await;
    assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text());
    response.text()
}

async fn htmx_get(app: &TestApp, uri: &str) -> TestResponse {
    app.send(Request::get(uri).header("HX-Request", "true").body(Body::empty()).expect("request")).await
}

/// Undoes the escaping of an attribute value.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// The value of the hidden input `name`.
fn hidden(html: &str, name: &str) -> String {
    let needle = format!("type=\"hidden\" name=\"{name}\" value=\"");
    let start = html.find(&needle).unwrap_or_else(|| panic!("no hidden {name} in {html}")) + needle.len();
    unescape(&html[start..start + html[start..].find('"').expect("a closing quote")])
}

/// Posts a form as a browser on the same site would.
async fn post_form(app: &TestApp, uri: &str, pairs: &[(&str, &str)]) -> TestResponse {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .expect("request");
    app.send(request).await
}

/// Submits the wizard form of `html` (its hidden state) with `fields` and the button `nav`.
async fn submit(app: &TestApp, uri: &str, html: &str, fields: &[(&str, &str)], nav: &str) -> TestResponse {
    let values = hidden(html, "wizard:values");
    let page = hidden(html, "wizard:page");
    let mut pairs: Vec<(&str, &str)> = vec![("wizard:values", &values), ("wizard:page", &page)];
    pairs.extend_from_slice(fields);
    pairs.push(("wizard:nav", nav));
    post_form(app, uri, &pairs).await
}

/// The titles of the cards on the template list.
fn cards(html: &str) -> Vec<String> {
    html.split("class=\"create-card-title\">")
        .skip(1)
        .filter_map(|rest| rest.split_once("</h3>").map(|(title, _)| title.to_owned()))
        .collect()
}

/// The current step of the wizard's step indicator.
fn current_step(html: &str) -> String {
    let at = html.find("aria-current=\"step\"").expect("a current step");
    let rest = &html[at..];
    let title = rest.split_once("class=\"create-step-title\">").expect("a step title").1;
    title.split(['<']).next().unwrap_or_default().to_owned()
}

const HELLO: &str = "/create/templates/default/hello";

/// Runs the hello template through the form to its task page; returns the task id.
async fn create_hello(app: &TestApp) -> String {
    let first = page(app, HELLO).await;
    let service = [("name", "payments"), ("description", "A friendly service"), ("owner", "team-a")];
    let details = submit(app, HELLO, &first, &service, "next").await.text();
    let review =
        submit(app, HELLO, &details, &[("token", "s3cret"), ("tier", "silver")], "next").await.text();
    let created = submit(app, HELLO, &review, &[], "create").await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let location = created.headers[header::LOCATION].to_str().unwrap().to_owned();
    location.strip_prefix("/create/tasks/").expect("the task page").to_owned()
}

#[tokio::test]
async fn templates_are_cards_with_filters_and_refuse_templates_needing_missing_actions() {
    let app = app().await;
    let html = page(&app, "/create").await;
    assert!(html.contains("<title>Create · Portico</title>"), "{html}");
    assert!(html.contains("href=\"/create\" aria-current=\"page\""), "the Create entry is highlighted");
    let all = cards(&html);
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(all.contains(&"Hello service".to_owned()) && all.contains(&"secretive".to_owned()), "{all:?}");
    assert!(html.contains("href=\"/create/templates/default/hello\""), "Choose leads to the form");
    assert!(html.contains("href=\"/catalog/default/group/team-a\">team-a</a>"), "owners link to their page");
    assert!(html.contains("href=\"/create/tasks\""), "the history is linked");

    // The template that needs actions this portal lacks says which, and cannot be chosen.
    assert!(
        html.contains("This template uses actions this portal does not have: publish:github, acme:deploy."),
        "{html}"
    );
    assert!(!html.contains("href=\"/create/templates/default/github-service\""));
    assert!(html.contains("disabled aria-describedby=\"template-1-blocked\""), "{html}");

    // Filters: type, owner, tag, text; counts follow the other filters.
    assert_eq!(cards(&page(&app, "/create?type=website").await), ["GitHub service"]);
    let owned = cards(&page(&app, "/create?owner=group:default/team-b").await);
    assert_eq!(owned.len(), 2, "{owned:?}");
    assert_eq!(cards(&page(&app, "/create?tag=rust").await), ["Hello service"]);
    assert_eq!(cards(&page(&app, "/create?q=links+hello").await), ["Hello service"]);
    let filtered = page(&app, "/create?type=service").await;
    assert!(filtered.contains("name=\"type\" value=\"website\">"), "other types stay offered");
    assert!(filtered.contains("name=\"type\" value=\"service\" checked>"));
    let nothing = page(&app, "/create?q=nothing-like-this").await;
    assert!(nothing.contains("No matches") && nothing.contains("Clear all filters"));

    // htmx asks for the cards only.
    let fragment = htmx_get(&app, "/create?tag=go").await.text();
    assert!(fragment.starts_with("<div id=\"create-body\""), "{fragment}");
    assert!(!fragment.contains("<html"));
    assert_eq!(cards(&fragment), ["GitHub service"]);
}

#[tokio::test]
async fn without_templates_the_list_says_how_to_add_one() {
    let app = TestApp::start("app:\n  title: Portico\n").await;
    let html = page(&app, "/create").await;
    assert!(html.contains("No templates yet"), "{html}");
    assert!(html.contains("href=\"/catalog-import\">Register a template.yaml</a>"), "{html}");
}

#[tokio::test]
async fn the_form_starts_on_the_first_page_with_defaults_and_focus() {
    let app = app().await;
    let html = page(&app, HELLO).await;
    assert!(html.contains("<title>Service · Hello service · Portico</title>"), "{html}");
    assert_eq!(current_step(&html), "Service");
    assert!(html.contains("class=\"create-step-title\">Details<"), "the next page is listed");
    assert!(!html.contains("Gold extras"), "a page whose `if` is false is not listed");
    assert!(html.contains("class=\"create-step-title\">Review<"));
    let name_input = html.split("id=\"field-name\"").nth(1).unwrap().split('>').next().unwrap();
    assert!(name_input.contains("autofocus"), "{name_input}");
    assert!(html.contains("value=\"A friendly service\""), "the default is filled in");
    assert!(html.contains("<option value=\"team-a\">Team A</option>"), "the owner picker offers the groups");
    assert!(!html.contains("value=\"back\""), "no Back on the first page");
    assert_eq!(hidden(&html, "wizard:values"), "{}");
    assert_eq!(hidden(&html, "wizard:page"), "0");
}

#[tokio::test]
async fn an_invalid_page_stays_with_errors_beside_the_fields() {
    let app = app().await;
    let first = page(&app, HELLO).await;
    let response = submit(&app, HELLO, &first, &[("name", "Not Valid!"), ("owner", "")], "next").await;
    assert_eq!(response.status, StatusCode::OK);
    let html = response.text();
    assert_eq!(current_step(&html), "Service", "still on the first page");
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("form-field-invalid"));
    assert!(html.contains("value=\"Not Valid!\""), "what was typed stays");
    // The missing owner is reported first (the form's own check), and focused.
    let owner = html.split("id=\"field-owner\"").nth(1).unwrap().split('>').next().unwrap();
    assert!(owner.contains("aria-invalid=\"true\"") && owner.contains("autofocus"), "{owner}");
    assert!(html.contains("href=\"#field-owner\""), "the summary links to the field");

    // With an owner, the pattern is checked next.
    let again =
        submit(&app, HELLO, &html, &[("name", "Not Valid!"), ("owner", "team-a")], "next").await.text();
    assert_eq!(current_step(&again), "Service");
    let name = again.split("id=\"field-name\"").nth(1).unwrap().split('>').next().unwrap();
    assert!(name.contains("aria-invalid=\"true\""), "{name}");
    assert!(again.contains("class=\"form-error\">"), "{again}");
}

#[tokio::test]
async fn next_and_back_keep_the_values_and_the_review_shows_them_masked() {
    let app = app().await;
    let first = page(&app, HELLO).await;
    let service = [("name", "payments"), ("description", "A friendly service"), ("owner", "team-a")];
    let details = submit(&app, HELLO, &first, &service, "next").await.text();
    assert_eq!(current_step(&details), "Details");
    assert!(details.contains("value=\"back\" formnovalidate"), "Back skips browser validation");
    assert!(details.contains("<option value=\"silver\" selected>Silver tier</option>"), "{details}");
    let values: serde_json::Value = serde_json::from_str(&hidden(&details, "wizard:values")).unwrap();
    assert_eq!(values["name"], "payments");
    assert_eq!(values["owner"], "group:default/team-a", "picker text is completed to a ref");
    assert_eq!(values["description"], "A friendly service");

    // Back keeps what was typed on this page too.
    let back = submit(&app, HELLO, &details, &[("token", "s3cret"), ("tier", "gold")], "back").await.text();
    assert_eq!(current_step(&back), "Service");
    assert!(back.contains("value=\"payments\""), "{back}");
    assert!(back.contains("class=\"create-step-title\">Gold extras<"), "the gold page now shows");
    let details = submit(&app, HELLO, &back, &service, "next").await.text();
    assert!(details.contains("<option value=\"gold\" selected>"), "{details}");
    assert!(details.contains("value=\"s3cret\""));
    let extras = submit(&app, HELLO, &details, &[("token", "s3cret"), ("tier", "gold")], "next").await.text();
    assert_eq!(current_step(&extras), "Gold extras");
    let review = submit(&app, HELLO, &extras, &[("perks", "free coffee")], "next").await.text();
    assert_eq!(current_step(&review), "Review");
    assert!(review.contains("<title>Review · Hello service · Portico</title>"));
    assert!(review.contains("<th scope=\"row\">Name</th><td>payments</td>"), "{review}");
    assert!(review.contains("<th scope=\"row\">Token</th><td>******</td>"), "the password is masked");
    let shown = review.split("create-review-title").nth(1).unwrap().split("wizard:values").next().unwrap();
    assert!(!shown.contains("s3cret"), "the password is not shown: {shown}");
    assert!(review.contains("<th scope=\"row\">Tier</th><td>Gold tier</td>"));
    assert!(review.contains("<th scope=\"row\">Perks</th><td>free coffee</td>"));
    assert!(review.contains("value=\"create\">Make it so</button>"), "the template's button label");

    // Edit jumps to a page; going silver skips the gold page again.
    let edit = submit(&app, HELLO, &review, &[], "edit:1").await.text();
    assert_eq!(current_step(&edit), "Details");
    let review = submit(&app, HELLO, &edit, &[("token", "s3cret"), ("tier", "silver")], "next").await.text();
    assert_eq!(current_step(&review), "Review");
    assert!(!review.contains("Gold extras"), "{review}");
}

#[tokio::test]
async fn creating_runs_the_task_and_its_page_goes_live_until_it_completes() {
    let app = app().await;
    let id = create_hello(&app).await;
    let task_page = format!("/create/tasks/{id}");

    // Not run yet: queued, polling its fragment.
    let html = page(&app, &task_page).await;
    assert!(html.contains("<title>Hello service · Task · Portico</title>"), "{html}");
    assert!(html.contains(">Queued<"), "{html}");
    assert!(html.contains(&format!("hx-get=\"/create/tasks/{id}/live\" hx-trigger=\"every 1s\"")));
    assert!(
        html.contains("<noscript><a class=\"button\" href=\"/create/tasks/"),
        "a Refresh link without JavaScript"
    );
    assert!(html.contains("Cancel</button>"));
    assert!(html.contains("href=\"/catalog/default/user/guest\">guest</a>"), "who created it");
    let fragment = htmx_get(&app, &format!("/create/tasks/{id}/live")).await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(fragment.text().starts_with("<div id=\"task-live\""), "{}", fragment.text());
    assert!(fragment.text().contains("hx-trigger=\"every 1s\""));
    let plain = app.get(&format!("/create/tasks/{id}/live")).await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER, "a browser is sent to the page");

    app.settle().await;
    let html = page(&app, &task_page).await;
    assert!(html.contains(">Completed<"), "{html}");
    assert!(!html.contains("every 1s"), "no more polling");
    assert!(html.contains("task-step task-step-completed"), "{html}");
    assert!(html.contains(">Greet</a>"));
    assert!(html.contains("Hello payments"), "the log");
    assert!(html.contains("Beginning step Greet"));
    assert!(html.contains("href=\"https://git.example.com/payments\""), "a url link");
    assert!(html.contains("href=\"/catalog/default/group/team-a\">Owner</a>"), "an entity link");
    assert!(!html.contains("href=\"javascript:"), "unsafe urls are not links");
    assert!(html.contains("<h3 id=\"task-text-1\">Summary</h3>"));
    assert!(html.contains("&#60;script&#62;alert(&#39;out&#39;)&#60;/script&#62; made payments"), "{html}");
    assert!(!html.contains("<script>alert('out')"));
    assert!(html.contains("Start over"));
    let fragment = htmx_get(&app, &format!("/create/tasks/{id}/live")).await.text();
    assert!(!fragment.contains("hx-trigger") && !fragment.contains("hx-get"), "the fragment stops polling");

    // One step's log alone.
    let only = page(&app, &format!("{task_page}?log=greet")).await;
    assert!(only.contains("Only <strong>Greet</strong>"), "{only}");
    assert!(!only.contains("Starting up task"), "task-level lines are left out");

    // Start over fills the form in with the task's values.
    let again = page(&app, &format!("{HELLO}?from={id}")).await;
    assert!(again.contains("value=\"payments\""), "{again}");
}

#[tokio::test]
async fn create_checks_every_page_again_and_refuses_other_sites() {
    let app = app().await;
    // A hand-made post claiming to be on the review with invalid values.
    let forged = post_form(
        &app,
        HELLO,
        &[
            ("wizard:values", r#"{"name":"Bad Name!","owner":"group:default/team-a"}"#),
            ("wizard:page", "3"),
            ("wizard:nav", "create"),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::OK);
    let html = forged.text();
    assert_eq!(current_step(&html), "Service", "sent back to the page in error");
    assert!(html.contains("aria-invalid=\"true\""));
    let listed = app.get_json("/api/scaffolder/v2/tasks").await;
    assert_eq!(listed["totalTasks"], 0, "nothing was created");

    let body = "wizard:values=%7B%7D&wizard:page=0&wizard:nav=next&name=x";
    let request = Request::post(HELLO)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn templates_that_cannot_run_or_need_secrets_say_so_on_the_form() {
    let app = app().await;
    let html = page(&app, "/create/templates/default/github-service").await;
    assert!(html.contains("This template cannot be started here."), "{html}");
    assert!(html.contains("publish:github"));
    assert!(!html.contains("<form class=\"card create-form\""), "no form");
    let posted =
        post_form(&app, "/create/templates/default/github-service", &[("wizard:nav", "create")]).await;
    assert!(posted.text().contains("This template cannot be started here."));
    assert_eq!(app.get_json("/api/scaffolder/v2/tasks").await["totalTasks"], 0);

    let secretive = page(&app, "/create/templates/default/secretive").await;
    assert_eq!(current_step(&secretive), "Review", "no parameters: straight to the review");
    assert!(secretive.contains("This template needs secrets (TOKEN)"), "{secretive}");
    assert!(secretive.contains("value=\"create\" disabled>Create</button>"), "{secretive}");
}

#[tokio::test]
async fn hostile_template_text_is_escaped() {
    let app = app().await;
    for uri in ["/create", "/create/templates/default/hostile"] {
        let html = page(&app, uri).await;
        assert!(!html.contains("<script>alert('title')"), "{uri}");
        assert!(!html.contains("<img src=x"), "{uri}");
        assert!(html.contains("&#60;script&#62;alert(&#39;title&#39;)&#60;/script&#62;"), "{uri}: {html}");
    }
}

#[tokio::test]
async fn a_task_can_be_cancelled_retried_and_found_in_the_history() {
    let app = app().await;
    let done = create_hello(&app).await;
    app.settle().await;

    let review = page(&app, "/create/templates/default/slow").await;
    let created = submit(&app, "/create/templates/default/slow", &review, &[], "create").await;
    let slow =
        created.headers[header::LOCATION].to_str().unwrap().trim_start_matches("/create/tasks/").to_owned();
    let cancelled = post_form(&app, &format!("/create/tasks/{slow}/cancel"), &[]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(cancelled.headers[header::LOCATION], format!("/create/tasks/{slow}"));
    app.settle().await;
    let html = page(&app, &format!("/create/tasks/{slow}")).await;
    assert!(html.contains("task-badge-cancelled"), "{html}");
    assert!(html.contains("This task was cancelled."));
    assert!(html.contains(">Not run<"), "the step never ran");
    assert!(html.contains("Retry</button>"));

    // History: newest first, filtered, paged.
    let history = page(&app, "/create/tasks").await;
    assert!(history.contains("<title>Task history · Portico</title>"));
    let slow_at = history.find(&format!("href=\"/create/tasks/{slow}\"")).expect("the slow task is listed");
    let done_at = history.find(&format!("href=\"/create/tasks/{done}\"")).expect("the hello task is listed");
    assert!(slow_at < done_at, "newest first");
    assert!(history.contains("task-badge-cancelled") && history.contains("task-badge-completed"));
    assert!(history.contains("href=\"/catalog/default/user/guest\">guest</a>"));
    let completed = page(&app, "/create/tasks?owner=all&status=completed").await;
    assert!(completed.contains(&done) && !completed.contains(&slow), "{completed}");
    let second = page(&app, "/create/tasks?owner=all&limit=1&offset=1").await;
    assert!(second.contains(&done) && !second.contains(&slow));
    assert!(second.contains("Showing <strong>2–2</strong> of <strong>2</strong>"), "{second}");
    assert!(
        second.contains("href=\"/create/tasks?owner=all&#38;limit=1\""),
        "a link to newer tasks: {second}"
    );
    let fragment = htmx_get(&app, "/create/tasks?status=failed").await.text();
    assert!(fragment.starts_with("<section id=\"history-body\""), "{fragment}");
    assert!(fragment.contains(&slow) && !fragment.contains(&done));
    let none = page(&app, "/create/tasks?status=open").await;
    assert!(none.contains("No tasks here"), "{none}");

    // Retry puts the failed task back in the queue.
    let retried = post_form(&app, &format!("/create/tasks/{slow}/retry"), &[]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    let html = page(&app, &format!("/create/tasks/{slow}")).await;
    assert!(html.contains(">Queued<"), "{html}");
    assert!(html.contains("hx-trigger=\"every 1s\""));
}

#[tokio::test]
async fn unknown_templates_and_tasks_are_helpful_404s() {
    let app = app().await;
    for uri in ["/create/templates/default/nope", "/create/tasks/nope"] {
        let response = app.get(uri).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{uri}");
        let html = response.text();
        assert!(html.contains("not found") && html.contains("<nav class=\"nav\""), "{uri}: {html}");
    }
    let fragment = htmx_get(&app, "/create/tasks/nope/live").await;
    assert_eq!(fragment.status, StatusCode::NOT_FOUND);
    let cancel = post_form(&app, "/create/tasks/nope/cancel", &[]).await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_repository_picker_without_allowed_hosts_offers_the_configured_integrations() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let template = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: repo
spec:
  type: service
  parameters:
    - title: Where
      properties:
        repoUrl:
          title: Repository
          type: string
          ui:field: RepoUrlPicker
  steps:
    - action: debug:log
      input:
        message: hi
";
    let path = write_file(dir.path(), "templates.yaml", template);
    let config = format!(
        "{}integrations:\n  gitea:\n    - host: git.internal.example\n",
        config_with_locations(&[("file", &path.to_string_lossy())])
    );
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    let html = page(&app, "/create/templates/default/repo").await;
    for host in ["git.internal.example", "github.com", "gitlab.com"] {
        assert!(html.contains(&format!(">{host}</option>")), "{host} is offered: {html}");
    }
}
