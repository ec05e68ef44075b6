//! `/api/techdocs`: Backstage's TechDocs backend routes (metadata, entity metadata, sync event
//! stream, static docs) plus the build record of a site.
//!
//! Static files whose extension contains `htm`, `xml` or `svg` are served as
//! `text/plain; charset=utf-8`, as Backstage does, so a published file can never run as a
//! page on the portal's origin; the reader fetches HTML as text. A request whose triplet has
//! upper-case letters is redirected (301) to the lower-cased path unless legacy casing is on.
//!
//! Every route answers for an entity the caller may not read (`catalog.entity.read`) exactly
//! as for one that does not exist.

use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_plugin::Access;
use portico_web::{ApiError, ApiResult};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::service::{CheckOutcome, TechDocs, Triplet};
use crate::settings::Builder;

/// A `301 Moved Permanently` to `target` (Backstage answers 301, not 308).
pub fn moved(target: &str) -> Response {
    match HeaderValue::from_str(target) {
        Ok(location) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The routes, mounted under `/api/techdocs`.
pub fn router(docs: TechDocs) -> Router {
    Router::new()
        .route("/metadata/techdocs/{namespace}/{kind}/{name}", get(site_metadata))
        .route("/metadata/entity/{namespace}/{kind}/{name}", get(entity_metadata))
        .route("/sync/{namespace}/{kind}/{name}", get(sync))
        .route("/builds/{namespace}/{kind}/{name}", get(build_record))
        .route("/static/docs/{namespace}/{kind}/{name}", get(static_root))
        .route("/static/docs/{namespace}/{kind}/{name}/", get(static_root))
        .route("/static/docs/{namespace}/{kind}/{name}/{*path}", get(static_file))
        .with_state(docs)
}

fn entity_ref(namespace: &str, kind: &str, name: &str) -> String {
    format!("{kind}:{namespace}/{name}")
}

/// `GET /metadata/techdocs/:namespace/:kind/:name`: the published `techdocs_metadata.json`.
async fn site_metadata(
    State(docs): State<TechDocs>,
    access: Access,
    UrlPath((namespace, kind, name)): UrlPath<(String, String, String)>,
) -> ApiResult<Response> {
    let missing = || {
        ApiError::not_found(format!("Unable to get metadata for '{}'", entity_ref(&namespace, &kind, &name)))
    };
    if docs.readable_entry(&access, &namespace, &kind, &name).is_none() {
        return Err(missing());
    }
    let triplet = docs.published_triplet(&namespace, &kind, &name);
    let bytes = tokio::fs::read(docs.site_dir(&triplet).join("techdocs_metadata.json"))
        .await
        .map_err(|_| missing())?;
    let metadata: Value = serde_json::from_slice(&bytes).map_err(|_| missing())?;
    // The published file also carries the reader's nav and page list; the route answers with
    // Backstage's fields.
    let mut out = serde_json::Map::new();
    for key in ["site_name", "site_description", "build_timestamp", "files", "etag"] {
        if let Some(value) = metadata.get(key) {
            out.insert(key.to_owned(), value.clone());
        }
    }
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// `GET /metadata/entity/:namespace/:kind/:name`: the entity plus its resolved docs source.
async fn entity_metadata(
    State(docs): State<TechDocs>,
    access: Access,
    UrlPath((namespace, kind, name)): UrlPath<(String, String, String)>,
) -> ApiResult<Response> {
    let reference = entity_ref(&namespace, &kind, &name);
    let Some(entry) = docs.readable_entry(&access, &namespace, &kind, &name) else {
        // Docs the caller may not read are not found; only an entity without docs is "known".
        if docs.entry(&namespace, &kind, &name).is_none()
            && docs.is_known(&access, &namespace, &kind, &name).await
        {
            return Err(ApiError::input(format!("No location annotation provided in entity: {name}")));
        }
        return Err(ApiError::not_found(format!("Unable to get metadata for '{reference}'")));
    };
    let mut body = docs
        .catalog_entity(&entry)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("Unable to get metadata for '{reference}'")))?;
    match &entry.source {
        Ok(source) => {
            if let Some(object) = body.as_object_mut() {
                object.insert("locationMetadata".into(), source.location_metadata());
            }
            Ok(axum::Json(body).into_response())
        }
        Err(error) => Err(ApiError::input(error.clone())),
    }
}

/// `GET /builds/:namespace/:kind/:name` (Portico): the last build's state, time and warnings.
async fn build_record(
    State(docs): State<TechDocs>,
    access: Access,
    UrlPath((namespace, kind, name)): UrlPath<(String, String, String)>,
) -> ApiResult<Response> {
    let entry = docs.readable_entry(&access, &namespace, &kind, &name).ok_or_else(|| {
        ApiError::not_found(format!("No docs for '{}'", entity_ref(&namespace, &kind, &name)))
    })?;
    let mut body = serde_json::to_value(&entry.build).unwrap_or_default();
    if let Some(object) = body.as_object_mut() {
        object.insert("entityRef".into(), json!(entry.entity_ref()));
        object.insert(
            "source".into(),
            match &entry.source {
                Ok(source) => source.location_metadata(),
                Err(error) => json!({ "error": error }),
            },
        );
    }
    Ok(axum::Json(body).into_response())
}

/// One server-sent event, byte for byte as Backstage writes them.
fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// `GET /sync/:namespace/:kind/:name`: builds if needed, streaming `log` events and ending
/// with `finish {"updated": bool}` or `error "<message>"`.
async fn sync(
    State(docs): State<TechDocs>,
    access: Access,
    UrlPath((namespace, kind, name)): UrlPath<(String, String, String)>,
) -> ApiResult<Response> {
    let reference = entity_ref(&namespace, &kind, &name);
    let Some(entry) = docs.readable_entry(&access, &namespace, &kind, &name) else {
        return Err(ApiError::not_found(format!("Entity not found for {reference}")));
    };
    if entry.entity.uid().is_empty() {
        return Err(ApiError::not_found("Entity metadata UID missing"));
    }
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    if docs.settings().builder == Builder::External {
        let _ = tx.send(event("finish", &json!({ "updated": false })));
    } else {
        let key = format!("{namespace}/{kind}/{name}").to_lowercase();
        let interval = docs.settings().check_interval;
        tokio::spawn(async move {
            let log_tx = tx.clone();
            let mut log = move |line: String| {
                let _ = log_tx.send(event("log", &Value::String(line)));
            };
            let last = match docs.check_if_older(&key, interval, &mut log).await {
                Ok(CheckOutcome::Updated) => event("finish", &json!({ "updated": true })),
                Ok(CheckOutcome::Unchanged) => event("finish", &json!({ "updated": false })),
                Err(error) => {
                    event("error", &Value::String(format!("Failed to build the docs page: {error}")))
                }
            };
            let _ = tx.send(last);
        });
    }
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

async fn static_root(
    state: State<TechDocs>,
    access: Access,
    UrlPath((namespace, kind, name)): UrlPath<(String, String, String)>,
) -> Response {
    serve_static(state, access, namespace, kind, name, String::new()).await
}

async fn static_file(
    state: State<TechDocs>,
    access: Access,
    UrlPath((namespace, kind, name, path)): UrlPath<(String, String, String, String)>,
) -> Response {
    serve_static(state, access, namespace, kind, name, path).await
}

/// `GET /static/docs/:namespace/:kind/:name/<path>`: a published file.
async fn serve_static(
    State(docs): State<TechDocs>,
    access: Access,
    namespace: String,
    kind: String,
    name: String,
    path: String,
) -> Response {
    let triplet = docs.published_triplet(&namespace, &kind, &name);
    if !docs.settings().case_sensitive_triplets
        && (namespace != triplet.namespace || kind != triplet.kind || name != triplet.name)
    {
        let target = format!("/api/techdocs/static/docs/{}/{path}", triplet.path());
        return moved(&target).into_response();
    }
    let not_found = || {
        ApiError::not_found(format!("File not found: {}/{path}", entity_ref(&namespace, &kind, &name)))
            .into_response()
    };
    if docs.readable_entry(&access, &namespace, &kind, &name).is_none() {
        return not_found();
    }
    let Some(file) = site_file(&docs, &triplet, &path) else { return not_found() };
    match tokio::fs::read(&file).await {
        Ok(bytes) => file_response(&file, bytes),
        Err(_) => not_found(),
    }
}

/// The file a static path names inside a published site: `..`, absolute parts and the build
/// record are refused, folders mean their `index.html`, and the result must stay inside the
/// site once symlinks are resolved.
pub fn site_file(docs: &TechDocs, triplet: &Triplet, path: &str) -> Option<PathBuf> {
    let site = docs.site_dir(triplet);
    let relative = Path::new(path);
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut file = site.join(relative);
    if path.is_empty() || path.ends_with('/') || file.is_dir() {
        file = file.join("index.html");
    }
    if file.file_name().is_some_and(|n| n == crate::service::BUILD_RECORD) {
        return None;
    }
    let real = file.canonicalize().ok()?;
    let real_site = site.canonicalize().ok()?;
    (real.starts_with(&real_site) && real.is_file()).then_some(real)
}

/// A published file's response: markup-like types as plain text (Backstage's XSS rule).
pub fn file_response(file: &Path, bytes: Vec<u8>) -> Response {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let content_type = content_type(&extension);
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; style-src 'self'; sandbox"),
    );
    response
}

/// The content type of a published file by extension.
pub fn content_type(extension: &str) -> &'static str {
    if extension.contains("htm") || extension.contains("xml") || extension.contains("svg") {
        return "text/plain; charset=utf-8";
    }
    match extension {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "application/javascript; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "txt" | "md" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_types_are_served_as_text() {
        for ext in ["html", "htm", "xhtml", "xml", "svg"] {
            assert_eq!(content_type(ext), "text/plain; charset=utf-8", "{ext}");
        }
        assert_eq!(content_type("css"), "text/css; charset=utf-8");
        assert_eq!(content_type("png"), "image/png");
        assert_eq!(content_type("exe"), "application/octet-stream");
    }

    #[test]
    fn events_are_written_like_backstages() {
        assert_eq!(event("log", &json!("Some log")), Bytes::from("event: log\ndata: \"Some log\"\n\n"));
        assert_eq!(
            event("finish", &json!({"updated": false})),
            Bytes::from("event: finish\ndata: {\"updated\":false}\n\n")
        );
    }
}
