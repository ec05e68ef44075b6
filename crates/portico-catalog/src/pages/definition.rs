//! The Definition tab of APIs: OpenAPI (info, servers, operations grouped by tag, parameters,
//! request and response schemas, examples) and AsyncAPI (channels with their publish and
//! subscribe messages) rendered readably; GraphQL, gRPC and anything else shown as highlighted
//! code. `…/definition/raw` serves the definition text itself.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portico_model::yaml::{YamlLimits, parse_documents};
use portico_web::highlight::{Language, highlight};
use portico_web::{Markup, PageError, escape};
use serde_json::Value;

use super::CatalogPages;
use super::entity::{Subject, find};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "options", "head", "trace"];

/// Parses a definition written as JSON or YAML (the first document).
pub fn parse_definition(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("The definition is not valid JSON: {e}"));
    }
    match parse_documents(text, &YamlLimits::default()).into_iter().next() {
        Some(Ok(document)) => Ok(document.value),
        Some(Err(error)) => Err(format!("The definition is not valid YAML: {error}")),
        None => Err("The definition is empty.".to_owned()),
    }
}

fn definition_text(entity: &Value) -> Option<&str> {
    entity["spec"]["definition"].as_str()
}

/// The tab's content.
pub(super) fn tab(subject: &Subject) -> Markup {
    let spec_type = subject.summary.spec_type.clone().unwrap_or_default();
    let Some(text) = definition_text(&subject.entity) else {
        return Markup::trusted(
            "<section class=\"card\"><p class=\"muted\">This API has no definition.</p></section>",
        );
    };
    let raw_href = format!("{}/definition/raw", subject.summary.path());
    let mut html = format!(
        "<div class=\"definition-bar\"><span class=\"badge\">{}</span><a class=\"button\" href=\"{}\" download>Download raw definition</a></div>",
        escape(&spec_type),
        escape(&raw_href)
    );
    let rendered = match spec_type.to_ascii_lowercase().as_str() {
        "openapi" => parse_definition(text).map(|doc| render_openapi(&doc)),
        "asyncapi" => parse_definition(text).map(|doc| render_asyncapi(&doc)),
        other => Ok(code_card(text, Language::for_api_type(other))),
    };
    match rendered {
        Ok(body) => html.push_str(&body),
        Err(message) => {
            let _ = write!(html, "<p class=\"notice error\">{}</p>", escape(&message));
            html.push_str(&code_card(text, Language::Yaml));
        }
    }
    Markup::trusted(html)
}

fn code_card(text: &str, language: Language) -> String {
    format!(
        "<section class=\"card code-card\"><pre class=\"code\"><code>{}</code></pre></section>",
        highlight(text, language)
    )
}

fn s<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str).filter(|t| !t.trim().is_empty())
}

/// A JSON value as pretty JSON text, escaped and highlighted.
fn pretty(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    highlight(&text, Language::Yaml)
}

/// `#/components/schemas/Pet` → `Pet`.
fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// A schema in a collapsible block, titled by its `$ref` name or type.
fn schema_block(title: &str, schema: &Value) -> String {
    let name = s(schema, "$ref")
        .map(ref_name)
        .or_else(|| schema.get("items").and_then(|i| s(i, "$ref")).map(ref_name))
        .map(|n| if schema.get("items").is_some() { format!("{n}[]") } else { n.to_owned() })
        .or_else(|| s(schema, "type").map(str::to_owned))
        .unwrap_or_else(|| "schema".to_owned());
    format!(
        "<details class=\"schema\"><summary>{} <code>{}</code></summary><pre class=\"code\"><code>{}</code></pre></details>",
        escape(title),
        escape(&name),
        pretty(schema)
    )
}

fn info_card(doc: &Value, spec_version: &str) -> String {
    let info = &doc["info"];
    let mut html = format!(
        "<section class=\"card def-info\"><h2>{} <span class=\"badge\">{}</span></h2>",
        escape(s(info, "title").unwrap_or("Untitled API")),
        escape(&format!("v{}", s(info, "version").unwrap_or("?")))
    );
    let _ = write!(html, "<p class=\"muted\">{}</p>", escape(spec_version));
    if let Some(description) = s(info, "description") {
        let _ = write!(html, "<p class=\"def-description\">{}</p>", escape(description));
    }
    html
}

/// Renders an OpenAPI (3.x or Swagger 2) document.
pub fn render_openapi(doc: &Value) -> String {
    let version = s(doc, "openapi")
        .map(|v| format!("OpenAPI {v}"))
        .or_else(|| s(doc, "swagger").map(|v| format!("Swagger {v}")));
    let mut html = info_card(doc, version.as_deref().unwrap_or("OpenAPI"));
    let servers: Vec<String> = doc["servers"]
        .as_array()
        .map(|all| all.iter().filter_map(|sv| s(sv, "url").map(str::to_owned)).collect())
        .unwrap_or_else(|| {
            s(doc, "host")
                .map(|h| vec![format!("{h}{}", s(doc, "basePath").unwrap_or(""))])
                .unwrap_or_default()
        });
    if !servers.is_empty() {
        html.push_str("<h3 class=\"about-sub\">Servers</h3><ul class=\"servers\">");
        for server in servers {
            let _ = write!(html, "<li><code>{}</code></li>", escape(&server));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");

    // Operations grouped by their first tag, tags in first-seen order.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                let Some(operation) = item.get(method) else { continue };
                let tag = operation["tags"].get(0).and_then(Value::as_str).unwrap_or("default").to_owned();
                let rendered = operation_html(path, method, item, operation);
                match groups.iter_mut().find(|(t, _)| *t == tag) {
                    Some((_, ops)) => ops.push(rendered),
                    None => groups.push((tag, vec![rendered])),
                }
            }
        }
    }
    for (tag, operations) in groups {
        let _ = write!(
            html,
            "<section class=\"card operations\"><h2>{} <span class=\"count\">{}</span></h2>",
            escape(&tag),
            operations.len()
        );
        for operation in operations {
            html.push_str(&operation);
        }
        html.push_str("</section>");
    }
    let schemas = doc["components"]["schemas"].as_object().or_else(|| doc["definitions"].as_object());
    if let Some(schemas) = schemas {
        html.push_str("<section class=\"card\"><h2>Schemas</h2>");
        for (name, schema) in schemas {
            html.push_str(&schema_block(name, schema));
        }
        html.push_str("</section>");
    }
    html
}

fn operation_html(path: &str, method: &str, item: &Value, operation: &Value) -> String {
    let mut html = format!(
        "<details class=\"operation method-{method}\"><summary><span class=\"method\">{}</span><code class=\"op-path\">{}</code><span class=\"op-summary\">{}</span></summary><div class=\"op-body\">",
        method.to_uppercase(),
        escape(path),
        escape(s(operation, "summary").unwrap_or_default())
    );
    if let Some(description) = s(operation, "description") {
        let _ = write!(html, "<p>{}</p>", escape(description));
    }
    if let Some(id) = s(operation, "operationId") {
        let _ = write!(html, "<p class=\"muted\">Operation <code>{}</code></p>", escape(id));
    }
    let parameters: Vec<&Value> = item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(operation["parameters"].as_array().into_iter().flatten())
        .collect();
    let (body_params, parameters): (Vec<&Value>, Vec<&Value>) =
        parameters.into_iter().partition(|p| s(p, "in") == Some("body"));
    if !parameters.is_empty() {
        html.push_str("<table class=\"data-table params\"><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>");
        for p in parameters {
            let type_name = s(&p["schema"], "type")
                .or_else(|| s(p, "type"))
                .or_else(|| s(p, "$ref").map(ref_name))
                .unwrap_or("");
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(s(p, "name").unwrap_or("")),
                escape(s(p, "in").unwrap_or("")),
                escape(type_name),
                if p["required"].as_bool() == Some(true) { "yes" } else { "no" },
                escape(s(p, "description").unwrap_or(""))
            );
        }
        html.push_str("</tbody></table>");
    }
    for p in body_params {
        html.push_str(&schema_block("Request body", &p["schema"]));
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        for (media, body) in content {
            html.push_str(&schema_block(&format!("Request body ({media})"), &body["schema"]));
            html.push_str(&examples(body));
        }
    }
    if let Some(responses) = operation["responses"].as_object() {
        html.push_str("<h4>Responses</h4><ul class=\"responses\">");
        for (code, response) in responses {
            let class = code.chars().next().map_or("x", |c| match c {
                '2' => "ok",
                '3' => "redirect",
                '4' | '5' => "error",
                _ => "other",
            });
            let _ = write!(
                html,
                "<li><span class=\"status status-{class}\">{}</span> {}",
                escape(code),
                escape(s(response, "description").unwrap_or(""))
            );
            if let Some(content) = response["content"].as_object() {
                for (media, body) in content {
                    html.push_str(&schema_block(media, &body["schema"]));
                    html.push_str(&examples(body));
                }
            } else if response.get("schema").is_some() {
                html.push_str(&schema_block("Schema", &response["schema"]));
            }
            html.push_str("</li>");
        }
        html.push_str("</ul>");
    }
    html.push_str("</div></details>");
    html
}

fn examples(media: &Value) -> String {
    let mut html = String::new();
    if let Some(example) = media.get("example") {
        let _ = write!(
            html,
            "<details class=\"schema\"><summary>Example</summary><pre class=\"code\"><code>{}</code></pre></details>",
            pretty(example)
        );
    }
    if let Some(all) = media["examples"].as_object() {
        for (name, example) in all {
            let value = example.get("value").unwrap_or(example);
            let _ = write!(
                html,
                "<details class=\"schema\"><summary>Example <code>{}</code></summary><pre class=\"code\"><code>{}</code></pre></details>",
                escape(name),
                pretty(value)
            );
        }
    }
    html
}

/// Resolves a local `$ref` (`#/components/messages/x`) against the document.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match s(value, "$ref").and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

/// Renders an AsyncAPI (2.x or 3.x) document.
pub fn render_asyncapi(doc: &Value) -> String {
    let version = format!("AsyncAPI {}", s(doc, "asyncapi").unwrap_or("?"));
    let mut html = info_card(doc, &version);
    if let Some(servers) = doc["servers"].as_object() {
        html.push_str("<h3 class=\"about-sub\">Servers</h3><ul class=\"servers\">");
        for (name, server) in servers {
            let url = s(server, "url").or_else(|| s(server, "host")).unwrap_or("");
            let _ = write!(
                html,
                "<li><strong>{}</strong> <code>{}</code> <span class=\"badge\">{}</span></li>",
                escape(name),
                escape(url),
                escape(s(server, "protocol").unwrap_or(""))
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
    let Some(channels) = doc["channels"].as_object() else { return html };
    let _ = write!(
        html,
        "<section class=\"card operations\"><h2>Channels <span class=\"count\">{}</span></h2>",
        channels.len()
    );
    for (name, channel) in channels {
        let channel = resolve(doc, channel);
        let address = s(channel, "address").unwrap_or(name);
        let _ = write!(
            html,
            "<details class=\"operation channel\" open><summary><code class=\"op-path\">{}</code><span class=\"op-summary\">{}</span></summary><div class=\"op-body\">",
            escape(address),
            escape(s(channel, "description").unwrap_or(""))
        );
        // 2.x: publish / subscribe operations on the channel.
        for action in ["publish", "subscribe"] {
            let Some(operation) = channel.get(action) else { continue };
            let _ = write!(
                html,
                "<h4><span class=\"method method-{action}\">{}</span> {}</h4>",
                action.to_uppercase(),
                escape(s(operation, "summary").unwrap_or(""))
            );
            let message = resolve(doc, &operation["message"]);
            let messages: Vec<&Value> = match message["oneOf"].as_array() {
                Some(all) => all.iter().map(|m| resolve(doc, m)).collect(),
                None => vec![message],
            };
            for message in messages {
                html.push_str(&message_html(doc, message));
            }
        }
        // 3.x: messages declared on the channel; operations name their channel.
        if let Some(messages) = channel["messages"].as_object() {
            for message in messages.values() {
                html.push_str(&message_html(doc, resolve(doc, message)));
            }
        }
        html.push_str("</div></details>");
    }
    html.push_str("</section>");
    html
}

fn message_html(doc: &Value, message: &Value) -> String {
    let title = s(message, "title").or_else(|| s(message, "name")).unwrap_or("Message");
    let mut html = format!("<div class=\"message\"><p><strong>{}</strong>", escape(title));
    if let Some(summary) = s(message, "summary").or_else(|| s(message, "description")) {
        let _ = write!(html, " — {}", escape(summary));
    }
    html.push_str("</p>");
    if let Some(payload) = message.get("payload") {
        html.push_str(&schema_block("Payload", resolve(doc, payload)));
    }
    html.push_str("</div>");
    html
}

/// `GET /catalog/{namespace}/{kind}/{name}/definition/raw`: the definition as text, with a
/// content type matching its format, as a download.
pub(super) async fn raw(
    State(pages): State<CatalogPages>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    access: portico_plugin::Access,
) -> Result<Response, PageError> {
    let subject = find(&pages, &access, &namespace, &kind, &name)?;
    let Some(text) = definition_text(&subject.entity) else {
        return Err(PageError::not_found(
            "No definition",
            format!("“{}” has no API definition.", subject.summary.display_name()),
        )
        .first_link(format!("Back to {}", subject.summary.display_name()), subject.summary.path()));
    };
    let spec_type = subject.summary.spec_type.clone().unwrap_or_default().to_ascii_lowercase();
    let json = text.trim_start().starts_with('{');
    let (content_type, extension) = match spec_type.as_str() {
        "openapi" | "asyncapi" if json => ("application/json; charset=utf-8", "json"),
        "openapi" | "asyncapi" => ("application/yaml; charset=utf-8", "yaml"),
        "graphql" => ("text/plain; charset=utf-8", "graphql"),
        "grpc" => ("text/plain; charset=utf-8", "proto"),
        _ => ("text/plain; charset=utf-8", "txt"),
    };
    let file: String = subject
        .summary
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let mut response = text.to_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}.{extension}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn openapi_operations_are_grouped_with_parameters_and_schemas() {
        let doc = parse_definition(
            "openapi: 3.0.0\ninfo: {title: Pets, version: 1.0.0}\nservers: [{url: 'http://x/v1'}]\npaths:\n  /pets:\n    get:\n      tags: [pets]\n      summary: List pets\n      parameters:\n        - {name: limit, in: query, schema: {type: integer}}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Pets'}\ncomponents:\n  schemas:\n    Pets: {type: array}\n",
        )
        .expect("valid");
        let html = render_openapi(&doc);
        assert!(
            html.contains("<span class=\"method\">GET</span><code class=\"op-path\">/pets</code>"),
            "{html}"
        );
        assert!(html.contains("<code>limit</code></td><td>query</td><td>integer"), "{html}");
        assert!(html.contains("<summary>application/json <code>Pets</code></summary>"), "{html}");
        assert!(html.contains("<h2>pets <span class=\"count\">1</span></h2>"), "{html}");
        assert!(html.contains("http://x/v1"));
    }

    #[test]
    fn asyncapi_channels_show_messages() {
        let doc = json!({
            "asyncapi": "2.0.0",
            "info": {"title": "Lights", "version": "1"},
            "channels": {"light/measured": {"subscribe": {"message": {"$ref": "#/components/messages/m"}}}},
            "components": {"messages": {"m": {"name": "lightMeasured", "payload": {"type": "object"}}}}
        });
        let html = render_asyncapi(&doc);
        assert!(
            html.contains("light/measured") && html.contains("SUBSCRIBE") && html.contains("lightMeasured"),
            "{html}"
        );
    }

    #[test]
    fn invalid_yaml_is_reported_with_its_position() {
        let error = parse_definition("a: [1,\nb: c: d").expect_err("invalid");
        assert!(error.contains("line"), "{error}");
    }
}
