//! `$text`, `$json` and `$yaml` placeholders.
//!
//! An object with exactly one key `$text`/`$json`/`$yaml` whose value is a string is replaced by
//! the content it points at. Relative values resolve against the descriptor's own location.
//! Unlike Backstage (which only resolves relative values against url bases) relative paths work
//! for `file` locations too, but they must stay inside the origin location's folder.

use std::path::{Path, PathBuf};

use portico_model::SerializedError;
use portico_model::yaml::{YamlLimits, parse_documents};
use portico_reading::Reader;
use serde_json::Value;
use url::Url;

use super::location::{Source, SourceKind, parent_dir};

const RESOLVERS: [&str; 3] = ["text", "json", "yaml"];

/// Where the descriptor holding the placeholders came from.
pub struct PlaceholderBase<'a> {
    /// The descriptor's own location.
    pub source: &'a Source,
    /// For file locations: the folder placeholder reads must stay in.
    pub confine_to: Option<&'a Path>,
}

/// Replaces every placeholder in `entity`. Returns the resolved files and urls (for change
/// watching) or the first error, with Backstage's message shape.
pub async fn resolve(
    entity: &mut Value,
    base: &PlaceholderBase<'_>,
    reader: &Reader,
) -> Result<Vec<Source>, SerializedError> {
    let mut found = Vec::new();
    collect(entity, &mut Vec::new(), &mut found);
    let mut read_sources = Vec::new();
    for (path, resolver, target) in found {
        let (value, source) = resolve_one(&resolver, &target, base, reader).await?;
        if let Some(slot) = pointer_mut(entity, &path) {
            *slot = value;
        }
        read_sources.push(source);
    }
    Ok(read_sources)
}

/// Whether the entity contains any placeholder (such entities are re-read on every refresh).
pub fn has_placeholders(entity: &Value) -> bool {
    let mut found = Vec::new();
    collect(entity, &mut Vec::new(), &mut found);
    !found.is_empty()
}

/// Replaces every placeholder by an empty string, so that an entity can be validated before its
/// placeholders are read.
pub fn blank_out(entity: &mut Value) {
    let mut found = Vec::new();
    collect(entity, &mut Vec::new(), &mut found);
    for (path, _, _) in found {
        if let Some(slot) = pointer_mut(entity, &path) {
            *slot = Value::String(String::new());
        }
    }
}

enum Step {
    Key(String),
    Index(usize),
}

fn collect(value: &Value, path: &mut Vec<Step>, found: &mut Vec<(Vec<Step>, String, String)>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                let (key, inner) = map.iter().next().expect("one entry");
                if let (Some(resolver), Value::String(target)) = (key.strip_prefix('$'), inner)
                    && RESOLVERS.contains(&resolver)
                {
                    let copy = path.iter().map(|s| match s {
                        Step::Key(k) => Step::Key(k.clone()),
                        Step::Index(i) => Step::Index(*i),
                    });
                    found.push((copy.collect(), resolver.to_owned(), target.clone()));
                    return;
                }
            }
            for (key, inner) in map {
                path.push(Step::Key(key.clone()));
                collect(inner, path, found);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                path.push(Step::Index(i));
                collect(inner, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

fn pointer_mut<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |current, step| match step {
        Step::Key(key) => current.get_mut(key.as_str()),
        Step::Index(i) => current.get_mut(*i),
    })
}

async fn resolve_one(
    resolver: &str,
    target: &str,
    base: &PlaceholderBase<'_>,
    reader: &Reader,
) -> Result<(Value, Source), SerializedError> {
    let read_error = |message: String| {
        SerializedError::input(format!("Placeholder ${resolver} could not read location {target}, {message}"))
    };
    let source = match Url::parse(target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            Source { kind: SourceKind::Url, target: url.to_string() }
        }
        _ => match base.source.kind {
            SourceKind::Url => {
                let joined = Url::parse(&base.source.target)
                    .and_then(|b| portico_reading::join_url(&b, target))
                    .map_err(|_| {
                        SerializedError::input(format!(
                            "Placeholder ${resolver} could not form a URL out of {} and {target}",
                            base.source.target
                        ))
                    })?;
                Source { kind: SourceKind::Url, target: joined.to_string() }
            }
            SourceKind::File => {
                let dir = parent_dir(&base.source.target);
                let joined = crate::config::normalize_path(&dir.join(target));
                Source { kind: SourceKind::File, target: joined.to_string_lossy().into_owned() }
            }
        },
    };
    let bytes = match source.kind {
        SourceKind::Url => {
            let url = Url::parse(&source.target).map_err(|e| read_error(e.to_string()))?;
            reader.read_url(&url).await
        }
        SourceKind::File => {
            let path = PathBuf::from(&source.target);
            match base.confine_to {
                Some(folder) => reader.read_file_within(&path, folder).await,
                None => reader.read_file(&path).await,
            }
        }
    }
    .map_err(|e| read_error(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| read_error("the content is not valid UTF-8".into()))?;
    let value = match resolver {
        "text" => Value::String(text),
        "json" => serde_json::from_str(&text).map_err(|e| {
            SerializedError::input(format!(
                "Placeholder ${resolver} failed to parse JSON data at {target}, {e}"
            ))
        })?,
        _ => {
            let mut documents = Vec::new();
            for document in parse_documents(&text, &YamlLimits::default()) {
                let document = document.map_err(|e| {
                    SerializedError::input(format!(
                        "Placeholder ${resolver} failed to parse YAML data at {target}, {}",
                        e.message
                    ))
                })?;
                documents.push(document.value);
            }
            if documents.len() != 1 {
                return Err(SerializedError::input(format!(
                    "Placeholder ${resolver} expected to find exactly one document of data at {target}, found {}",
                    documents.len()
                )));
            }
            documents.pop().unwrap_or(Value::Null)
        }
    };
    Ok((value, source))
}
