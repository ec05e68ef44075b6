//! Locations: where descriptors come from, reading a Location entity's targets, and turning the
//! documents of a descriptor file into child entities.
//!
//! Deliberate difference from Backstage: one malformed document or invalid entity does not fail
//! its whole file. Every document is judged on its own; problems are kept on the Location that
//! read the file (with `file:line:column`), and the good documents still land.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use portico_model::yaml::{Position, YamlLimits, parse_documents};
use portico_model::{EntityRef, SerializedError};
use portico_reading::{ReadError, Reader};
use portico_store::UnprocessedEntity;
use serde_json::{Map, Value};
use url::Url;

pub const ANNOTATION_LOCATION: &str = "backstage.io/managed-by-location";
pub const ANNOTATION_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
pub const ANNOTATION_VIEW_URL: &str = "backstage.io/view-url";
pub const ANNOTATION_EDIT_URL: &str = "backstage.io/edit-url";
pub const ANNOTATION_SOURCE_LOCATION: &str = "backstage.io/source-location";

/// The kinds of location Portico reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    File,
    Url,
}

impl SourceKind {
    pub fn parse(kind: &str) -> Option<SourceKind> {
        match kind {
            "file" => Some(SourceKind::File),
            "url" => Some(SourceKind::Url),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Url => "url",
        }
    }
}

/// One readable place: a file path or a url.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    pub kind: SourceKind,
    pub target: String,
}

impl Source {
    /// `<type>:<target>`, Backstage's location ref.
    pub fn location_ref(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.target)
    }

    /// Parses a location ref (`file:/a/b.yaml`, `url:https://…`).
    pub fn from_location_ref(location_ref: &str) -> Option<Source> {
        let (kind, target) = location_ref.split_once(':')?;
        Some(Source { kind: SourceKind::parse(kind)?, target: target.to_owned() })
    }

    /// The source an entity was read from (its managed-by-location annotation).
    pub fn of_entity(entity: &Value) -> Option<Source> {
        annotation(entity, ANNOTATION_LOCATION).and_then(Source::from_location_ref)
    }
}

/// Reads one annotation of an entity.
pub fn annotation<'e>(entity: &'e Value, key: &str) -> Option<&'e str> {
    entity.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// A problem found while reading a location, pinned to where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// File path or url.
    pub file: String,
    pub position: Option<Position>,
    pub error: SerializedError,
}

impl Problem {
    pub fn new(file: &str, position: Option<Position>, error: SerializedError) -> Problem {
        Problem { file: file.to_owned(), position, error }
    }

    /// `file:line:column: message` (or `file: message` without a position).
    pub fn display(&self) -> String {
        match self.position {
            Some(p) => format!("{}:{}:{}: {}", self.file, p.line, p.column, self.error.message),
            None => format!("{}: {}", self.file, self.error.message),
        }
    }

    /// The problem as a `status.items` entry.
    pub fn status_item(&self) -> Value {
        serde_json::json!({
            "type": "backstage.io/catalog-processing",
            "level": "error",
            "message": format!("{}: {}", self.error.name, self.display()),
            "error": self.error.to_json(),
        })
    }
}

/// Splits a descriptor file into its object documents (with where they start) and problems.
pub fn split_documents(
    file: &str,
    bytes: &[u8],
) -> (Vec<(Value, Position, portico_model::yaml::YamlDocument)>, Vec<Problem>) {
    let mut problems = Vec::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            problems.push(Problem::new(
                file,
                Some(Position { line, column: 1 }),
                SerializedError::input(format!(
                    "the file is not valid UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                )),
            ));
            return (Vec::new(), problems);
        }
    };
    let mut documents = Vec::new();
    for document in parse_documents(text, &YamlLimits::default()) {
        match document {
            Err(error) => {
                // The parser's message repeats the position the problem already carries.
                let what = match error.message.strip_prefix("YAML error at line") {
                    Some(rest) => rest.split_once(": ").map_or(rest, |(_, what)| what),
                    None => error.message.as_str(),
                };
                problems.push(Problem::new(
                    file,
                    error.position,
                    SerializedError::input(format!("YAML error at {file}, {what}")),
                ));
            }
            Ok(document) => {
                if !document.value.is_object() {
                    problems.push(Problem::new(
                        file,
                        Some(document.start),
                        SerializedError::input(format!(
                            "Expected object at root, got {}",
                            json_type(&document.value)
                        )),
                    ));
                    continue;
                }
                documents.push((document.value.clone(), document.start, document));
            }
        }
    }
    (documents, problems)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The ref an entity document claims, if it names one at all.
pub fn claimed_ref(entity: &Value) -> Option<(String, String)> {
    let kind = entity.get("kind")?.as_str()?;
    let metadata = entity.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = match metadata.get("namespace") {
        None => "default",
        Some(Value::String(ns)) => ns.as_str(),
        Some(_) => return None,
    };
    if kind.is_empty() || name.is_empty() || namespace.is_empty() {
        return None;
    }
    let entity_ref =
        EntityRef { kind: kind.to_owned(), namespace: namespace.to_owned(), name: name.to_owned() };
    Some((entity_ref.canonical(), kind.to_owned()))
}

/// Sets the location annotations on an entity read from `source`: the managed-by pair is fixed
/// by the parent, the view/edit/source links are defaults the descriptor may override.
pub fn annotate(entity: &mut Value, source: &Source, origin: &str) {
    let Some(object) = entity.as_object_mut() else { return };
    let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else { return };
    let annotations = metadata.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        // Leave a malformed annotations value alone: validation reports it.
        return;
    }
    let annotations = annotations.as_object_mut().expect("checked above");
    if source.kind == SourceKind::Url {
        for (key, value) in url_annotations(&source.target) {
            annotations.entry(key).or_insert(Value::String(value));
        }
    }
    annotations.insert(ANNOTATION_LOCATION.into(), Value::String(source.location_ref()));
    annotations.insert(ANNOTATION_ORIGIN_LOCATION.into(), Value::String(origin.to_owned()));
}

/// View, edit and source-location annotations for a url. The edit url and source location need
/// to know the host's conventions; GitHub's are built in (like Backstage's default integration).
fn url_annotations(target: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![(ANNOTATION_VIEW_URL, target.to_owned())];
    if let Ok(url) = Url::parse(target)
        && url.host_str() == Some("github.com")
    {
        if target.contains("/blob/") {
            out.push((ANNOTATION_EDIT_URL, target.replacen("/blob/", "/edit/", 1)));
        }
        if let Ok(dir) = url.join(".") {
            out.push((ANNOTATION_SOURCE_LOCATION, format!("url:{dir}")));
        }
    }
    out
}

/// The targets a Location entity names, resolved against the Location's own source.
pub fn location_targets(entity: &Value, own: &Source) -> Result<(Vec<Source>, bool), SerializedError> {
    let spec = entity.get("spec").cloned().unwrap_or(Value::Null);
    let kind_name = spec.get("type").and_then(Value::as_str).unwrap_or(own.kind.as_str());
    let optional = spec.get("presence").and_then(Value::as_str) == Some("optional");
    let mut raw: Vec<&str> = Vec::new();
    if let Some(target) = spec.get("target").and_then(Value::as_str) {
        raw.push(target);
    }
    if let Some(targets) = spec.get("targets").and_then(Value::as_array) {
        raw.extend(targets.iter().filter_map(Value::as_str));
    }
    let Some(kind) = SourceKind::parse(kind_name) else {
        return Err(SerializedError::input(format!(
            "No processor was able to handle reading of {kind_name}:{}",
            raw.first().copied().unwrap_or_default()
        )));
    };
    let mut out = Vec::new();
    for target in raw {
        let resolved = match (kind, own.kind) {
            (SourceKind::File, SourceKind::File) => {
                if target.ends_with('/') || target.ends_with(std::path::MAIN_SEPARATOR) {
                    return Err(SerializedError::input(format!(
                        "LocationEntityProcessor cannot handle targets that end with a path separator: {target}"
                    )));
                }
                let path = Path::new(target);
                let joined =
                    if path.is_absolute() { path.to_path_buf() } else { parent_dir(&own.target).join(path) };
                crate::config::normalize_path(&joined).to_string_lossy().into_owned()
            }
            (SourceKind::Url, SourceKind::Url) => Url::parse(&own.target)
                .and_then(|base| portico_reading::join_url(&base, target))
                .map(|u| u.to_string())
                .unwrap_or_else(|_| target.to_owned()),
            _ => target.to_owned(),
        };
        out.push(Source { kind, target: resolved });
    }
    Ok((out, optional))
}

/// The directory part of a file target.
pub fn parent_dir(path: &str) -> PathBuf {
    Path::new(path).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"))
}

/// One file's worth of documents.
pub struct ReadFile {
    pub source: Source,
    pub bytes: Vec<u8>,
}

/// Reads a target: a url, a file, or a glob of files.
pub async fn read_target(target: &Source, reader: &Reader) -> Result<Vec<ReadFile>, ReadError> {
    match target.kind {
        SourceKind::Url => {
            let url = Url::parse(&target.target)
                .map_err(|_| ReadError::Failed(format!("{} is not a valid url", target.target)))?;
            let bytes = reader.read_url(&url).await?;
            Ok(vec![ReadFile { source: target.clone(), bytes }])
        }
        SourceKind::File if target.target.contains(['*', '?']) => {
            let files = glob_files(&target.target)?;
            let mut out = Vec::new();
            for path in files {
                let bytes = reader.read_file(&path).await?;
                out.push(ReadFile {
                    source: Source { kind: SourceKind::File, target: path.to_string_lossy().into_owned() },
                    bytes,
                });
            }
            Ok(out)
        }
        SourceKind::File => {
            let bytes = reader.read_file(Path::new(&target.target)).await?;
            Ok(vec![ReadFile { source: target.clone(), bytes }])
        }
    }
}

/// Files matching a glob, searched from the glob's longest literal folder.
fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, ReadError> {
    let matcher = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| ReadError::Failed(format!("invalid glob {pattern}: {e}")))?
        .compile_matcher();
    let literal: PathBuf = Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[', '{']))
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![literal];
    let mut seen = HashSet::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            // Do not follow directory symlinks: they could loop.
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if seen.insert(path.clone()) && seen.len() < 10_000 {
                    stack.push(path);
                }
            } else if matcher.is_match(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Builds the child entity emitted for a document that names an entity; also returns the
/// annotated entity as a value, for judging it.
pub fn child_entity(
    mut entity: Value,
    entity_ref: String,
    source: &Source,
    origin: &str,
) -> (UnprocessedEntity, Value) {
    annotate(&mut entity, source, origin);
    let hash = portico_model::hash::stable_hash(&entity);
    let location_key = Some(source.location_ref());
    (UnprocessedEntity { entity_ref, body: entity.to_string(), hash, location_key }, entity)
}
