//! Processing one entity: placeholders → model checks and relations → (for Locations) reading
//! the targets into child entities, checked against the catalog rules.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use portico_model::hash::StableHasher;
use portico_model::{SerializedError, process_entity};
use portico_reading::{ReadError, Reader};
use portico_store::{RelationRow, UnprocessedEntity};
use serde_json::{Value, json};

use super::location::{
    ANNOTATION_ORIGIN_LOCATION, Problem, ReadFile, Source, SourceKind, annotation, child_entity, claimed_ref,
    location_targets, parent_dir, read_target, split_documents,
};
use super::placeholders::{self, PlaceholderBase};
use crate::config::CatalogConfig;

/// What processing needs from the outside world besides reading files.
#[async_trait::async_trait]
pub trait ProcessingHost: Send + Sync {
    /// Every entity that (transitively) emitted `entity_ref`, to detect Location cycles.
    async fn ancestors(&self, entity_ref: &str) -> HashSet<String>;
    /// The children `entity_ref` emitted last time, to keep those of a target that is
    /// temporarily unreadable.
    async fn previous_children(&self, entity_ref: &str) -> Vec<UnprocessedEntity>;
}

/// The outcome of processing one entity.
#[derive(Debug, Clone)]
pub enum Processed {
    Ok {
        entity: Value,
        relations: Vec<RelationRow>,
        children: Vec<UnprocessedEntity>,
        /// Status items for problems that did not fail the entity (bad documents in a file…).
        warnings: Vec<Value>,
    },
    Failed(Vec<SerializedError>),
}

/// Everything processing one entity produced, including what it read (for change watching).
pub struct ProcessOutput {
    pub processed: Processed,
    pub read: Vec<Source>,
}

impl Processed {
    /// A hash over everything the result would write; equal hashes mean nothing changed.
    ///
    /// It digests the stable serialization of `{children: [[ref, hash]…], entity, relations:
    /// [[source, type, target]…], warnings}` (or `{errors}`) as it is written, because a
    /// Location's result holds every entity it emits.
    pub fn result_hash(&self) -> String {
        let mut hasher = StableHasher::new();
        match self {
            Processed::Ok { entity, relations, children, warnings } => {
                hasher.raw("{\"children\":");
                hasher.array(children, |h, child| h.strings(&[&child.entity_ref, &child.hash]));
                hasher.raw(",\"entity\":");
                hasher.value(entity);
                hasher.raw(",\"relations\":");
                hasher.array(relations, |h, r| h.strings(&[&r.source, &r.relation_type, &r.target]));
                hasher.raw(",\"warnings\":");
                hasher.array(warnings, StableHasher::value);
                hasher.raw("}");
            }
            Processed::Failed(errors) => {
                hasher.raw("{\"errors\":");
                hasher.value(&json!(errors));
                hasher.raw("}");
            }
        }
        hasher.finish()
    }
}

/// The folder placeholder reads of an entity must stay inside: its origin location's folder.
fn confinement(entity: &Value) -> Option<PathBuf> {
    let origin = Source::from_location_ref(annotation(entity, ANNOTATION_ORIGIN_LOCATION)?)?;
    (origin.kind == SourceKind::File).then(|| parent_dir(&origin.target))
}

/// Resolves placeholders and runs the model on one entity.
pub async fn check_entity(
    mut entity: Value,
    reader: &Reader,
) -> (Result<portico_model::ProcessedEntity, SerializedError>, Vec<Source>) {
    let mut read = Vec::new();
    if placeholders::has_placeholders(&entity) {
        let Some(source) = Source::of_entity(&entity) else {
            return (
                Err(SerializedError::input(
                    "Placeholders can only be resolved for entities read from a file or url location",
                )),
                read,
            );
        };
        let confine = confinement(&entity);
        let base = PlaceholderBase { source: &source, confine_to: confine.as_deref() };
        match placeholders::resolve(&mut entity, &base, reader).await {
            Ok(sources) => read = sources,
            Err(error) => return (Err(error), read),
        }
    }
    (process_entity(entity), read)
}

/// Processes one entity as emitted by its parent.
pub async fn process(
    unprocessed: &Value,
    reader: &Reader,
    config: &CatalogConfig,
    host: &dyn ProcessingHost,
) -> ProcessOutput {
    let (checked, mut read) = check_entity(unprocessed.clone(), reader).await;
    let processed = match checked {
        Ok(processed) => processed,
        Err(error) => {
            return ProcessOutput { processed: Processed::Failed(vec![error]), read };
        }
    };
    let relations = processed
        .relations
        .iter()
        .map(|r| RelationRow {
            source: r.source.clone(),
            relation_type: r.relation_type.clone(),
            target: r.target.clone(),
        })
        .collect();
    if processed.entity.get("kind").and_then(Value::as_str) != Some("Location") {
        return ProcessOutput {
            processed: Processed::Ok {
                entity: processed.entity,
                relations,
                children: Vec::new(),
                warnings: Vec::new(),
            },
            read,
        };
    }
    let targets = read_location(&processed.entity, &processed.entity_ref, reader, config, host).await;
    read.extend(targets.read);
    let mut warnings: Vec<Value> = targets.problems.iter().map(Problem::status_item).collect();
    let children = match targets.fatal {
        // The Location itself is valid, so it is served with the error; what it emitted before
        // stays as it was (Backstage keeps the children of a failing parent too).
        Some(error) => {
            warnings.insert(0, fatal_status_item(&error));
            host.previous_children(&processed.entity_ref).await
        }
        None => targets.children,
    };
    let processed = Processed::Ok { entity: processed.entity, relations, children, warnings };
    ProcessOutput { processed, read }
}

struct LocationRead {
    children: Vec<UnprocessedEntity>,
    problems: Vec<Problem>,
    read: Vec<Source>,
    fatal: Option<SerializedError>,
}

async fn read_location(
    entity: &Value,
    own_ref: &str,
    reader: &Reader,
    config: &CatalogConfig,
    host: &dyn ProcessingHost,
) -> LocationRead {
    let mut out = LocationRead { children: Vec::new(), problems: Vec::new(), read: Vec::new(), fatal: None };
    let Some(own) = Source::of_entity(entity) else {
        out.fatal = Some(SerializedError::input(format!(
            "Location {own_ref} has no {} annotation",
            super::location::ANNOTATION_LOCATION
        )));
        return out;
    };
    let origin = annotation(entity, ANNOTATION_ORIGIN_LOCATION).unwrap_or(&own.location_ref()).to_owned();
    let origin_source = Source::from_location_ref(&origin);
    let (targets, optional) = match location_targets(entity, &own) {
        Ok(targets) => targets,
        Err(error) => {
            out.fatal = Some(error);
            return out;
        }
    };
    let ancestors = host.ancestors(own_ref).await;
    let mut previous: Option<HashMap<String, Vec<UnprocessedEntity>>> = None;
    let mut seen: HashSet<String> = HashSet::new();
    // Read every target first, handing each file to its own task to be judged, so that the
    // parsing and checking of a large location's files runs on every core.
    let mut reads = Vec::new();
    for target in targets {
        match read_target(&target, reader).await {
            Ok(files) => {
                let judging = files
                    .into_iter()
                    .map(|file| {
                        let source = file.source.clone();
                        let (origin, reader) = (origin.clone(), reader.clone());
                        (source, tokio::spawn(async move { judge_file(&file, &origin, &reader).await }))
                    })
                    .collect::<Vec<_>>();
                reads.push((target, Ok(judging)));
            }
            Err(error) => reads.push((target, Err(error))),
        }
    }
    for (target, read) in reads {
        let files = match read {
            Ok(files) => files,
            Err(error) => {
                if !(optional && error.is_not_found()) {
                    out.problems.push(Problem::new(&target.target, None, read_error(&target, &error)));
                }
                // Keep what this target emitted before, so a passing outage deletes nothing.
                if !error.is_not_found() {
                    let previous = match &mut previous {
                        Some(previous) => previous,
                        None => previous.insert(group_by_key(host.previous_children(own_ref).await)),
                    };
                    for child in previous.remove(&target.location_ref()).unwrap_or_default() {
                        if seen.insert(child.entity_ref.clone()) {
                            out.children.push(child);
                        }
                    }
                }
                continue;
            }
        };
        for (source, judging) in files {
            out.read.push(source.clone());
            let origin_pair = origin_source.as_ref().map(|o| (o.kind.as_str(), o.target.as_str()));
            let judged = match judging.await {
                Ok(judged) => judged,
                Err(error) => {
                    let message = format!("Checking {} failed unexpectedly: {error}", source.target);
                    out.problems.push(Problem::new(
                        &source.target,
                        None,
                        SerializedError::new("Error", message),
                    ));
                    continue;
                }
            };
            for judged in judged {
                let JudgedDocument { child, kind, problem, start } = judged;
                let Some(child) = child else {
                    out.problems.extend(problem);
                    continue;
                };
                if child.entity_ref == own_ref {
                    continue;
                }
                if ancestors.contains(&child.entity_ref) {
                    out.problems.push(Problem::new(
                        &source.target,
                        Some(start),
                        SerializedError::input(format!(
                            "Location cycle: {} is already an ancestor of {own_ref}; not following it again",
                            child.entity_ref
                        )),
                    ));
                    continue;
                }
                if !rule_allows(config, &kind, origin_pair, &origin) {
                    out.fatal = Some(SerializedError::new(
                        "NotAllowedError",
                        format!(
                            "Entity {} at {}, originated at {origin}, is not of an allowed kind for that location",
                            child.entity_ref,
                            source.location_ref()
                        ),
                    ));
                    return out;
                }
                if !seen.insert(child.entity_ref.clone()) {
                    out.problems.push(Problem::new(
                        &source.target,
                        Some(start),
                        SerializedError::input(format!(
                            "Duplicate entity {}: it is already declared by this location",
                            child.entity_ref
                        )),
                    ));
                    continue;
                }
                out.problems.extend(problem);
                out.children.push(child);
            }
        }
    }
    out
}

/// One document of a descriptor file, judged on its own.
pub struct JudgedDocument {
    /// The entity to emit; `None` when the document does not even name an entity.
    pub child: Option<UnprocessedEntity>,
    /// The kind the document declares.
    pub kind: String,
    /// What is wrong with it, if anything. An entity that names itself is still emitted (so
    /// that a previously valid version keeps being served and shows the problem), but the
    /// problem is also reported here so it is visible on the Location even if the entity never
    /// becomes valid.
    pub problem: Option<Problem>,
    pub start: portico_model::yaml::Position,
}

/// Splits a file into documents and judges each one exactly as ingestion does (placeholders
/// resolved, every model rule checked). Unreadable documents come back as problems.
pub async fn judge_file(file: &ReadFile, origin: &str, reader: &Reader) -> Vec<JudgedDocument> {
    let (documents, problems) = split_documents(&file.source.target, &file.bytes);
    let mut out: Vec<JudgedDocument> = problems
        .into_iter()
        .map(|problem| JudgedDocument {
            child: None,
            kind: String::new(),
            start: problem.position.unwrap_or(portico_model::yaml::Position { line: 1, column: 1 }),
            problem: Some(problem),
        })
        .collect();
    for (document, start, positions) in documents {
        let Some((entity_ref, kind)) = claimed_ref(&document) else {
            // Let the model say what is wrong with it.
            let error = process_entity(document).err().unwrap_or_else(|| {
                SerializedError::input("The entity has no valid kind, metadata.name or metadata.namespace")
            });
            let problem = Problem::new(&file.source.target, Some(start), error);
            out.push(JudgedDocument { child: None, kind: String::new(), problem: Some(problem), start });
            continue;
        };
        let (child, annotated) = child_entity(document, entity_ref, &file.source, origin);
        let (verdict, _) = check_entity(annotated, reader).await;
        let problem = verdict.err().map(|error| {
            let position = error_position(&error, &positions).or(Some(start));
            Problem::new(&file.source.target, position, error)
        });
        out.push(JudgedDocument { child: Some(child), kind, problem, start });
    }
    out.sort_by_key(|judged| (judged.start.line, judged.start.column));
    out
}

fn fatal_status_item(error: &SerializedError) -> Value {
    json!({
        "type": "backstage.io/catalog-processing",
        "level": "error",
        "message": format!("{}: {}", error.name, error.message),
        "error": error.to_json(),
    })
}

fn group_by_key(children: Vec<UnprocessedEntity>) -> HashMap<String, Vec<UnprocessedEntity>> {
    let mut map: HashMap<String, Vec<UnprocessedEntity>> = HashMap::new();
    for child in children {
        map.entry(child.location_key.clone().unwrap_or_default()).or_default().push(child);
    }
    map
}

fn read_error(target: &Source, error: &ReadError) -> SerializedError {
    match error {
        ReadError::NotFound(_) => SerializedError::new(
            "NotFoundError",
            format!("Unable to read {}, {error}", target.location_ref()),
        ),
        ReadError::NotAllowed(_) => SerializedError::new("NotAllowedError", error.to_string()),
        _ => SerializedError::input(format!("Unable to read {}, {error}", target.location_ref())),
    }
}

/// Points a model error at the field it names, when the message names one.
fn error_position(
    error: &SerializedError,
    document: &portico_model::yaml::YamlDocument,
) -> Option<portico_model::yaml::Position> {
    let text = error.cause.as_ref().map(|c| c.message.as_str()).unwrap_or(&error.message);
    // Field errors read `"metadata.name" is not valid…` or `/spec must have…`.
    let field = if let Some(rest) = text.strip_prefix('"') {
        rest.split('"').next().map(|f| f.split('.').map(str::to_owned).collect::<Vec<_>>())
    } else if let Some(rest) = text.strip_prefix('/') {
        rest.split(' ').next().map(|f| f.split('/').map(str::to_owned).collect::<Vec<_>>())
    } else {
        None
    }?;
    let path: Vec<&str> = field.iter().map(String::as_str).collect();
    document.position_of(&path)
}

/// Whether the rules allow `kind` for entities originating at `origin`: the global rules plus
/// the rules of the config location the entity originates from.
pub fn rule_allows(
    config: &CatalogConfig,
    kind: &str,
    origin: Option<(&str, &str)>,
    origin_ref: &str,
) -> bool {
    if config.rules.iter().any(|rule| rule.allows(kind, origin)) {
        return true;
    }
    config
        .locations
        .iter()
        .filter(|location| format!("{}:{}", location.kind, location.target) == origin_ref)
        .flat_map(|location| location.rules.iter())
        .any(|rule| rule.allows(kind, None))
}

/// Validates one descriptor file offline, exactly as ingestion judges its documents
/// (`portico catalog validate`). The file is its own origin, so placeholders may read files
/// beside it.
pub async fn validate_file(path: &std::path::Path, reader: &Reader) -> Vec<Problem> {
    let shown = path.display().to_string();
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let source = Source { kind: SourceKind::File, target: absolute.to_string_lossy().into_owned() };
    let bytes = match reader.read_file(path).await {
        Ok(bytes) => bytes,
        Err(error) => return vec![Problem::new(&shown, None, SerializedError::input(error.to_string()))],
    };
    let file = ReadFile { source: source.clone(), bytes };
    judge_file(&file, &source.location_ref(), reader)
        .await
        .into_iter()
        .filter_map(|judged| judged.problem)
        .map(|mut problem| {
            problem.file = shown.clone();
            problem
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash is stored beside every result; the streamed digest must stay the one of the
    /// JSON value it describes, or every entity would look changed after an upgrade.
    #[test]
    fn result_hash_digests_the_stable_serialization_of_the_whole_result() {
        let child = |name: &str| UnprocessedEntity {
            entity_ref: format!("component:default/{name}"),
            body: "{}".into(),
            hash: format!("hash-of-{name}"),
            location_key: None,
        };
        let relation = |target: &str| RelationRow {
            source: "location:default/root".into(),
            relation_type: "hasPart".into(),
            target: target.into(),
        };
        let entity = json!({"kind": "Location", "metadata": {"name": "root", "a": "\"quoted\""}});
        let warning = json!({"type": "backstage.io/catalog-processing", "level": "warning"});
        let ok = Processed::Ok {
            entity: entity.clone(),
            relations: vec![relation("a"), relation("b")],
            children: vec![child("a"), child("b"), child("c")],
            warnings: vec![warning.clone(), warning.clone()],
        };
        let expected = json!({
            "entity": entity,
            "relations": [["location:default/root", "hasPart", "a"], ["location:default/root", "hasPart", "b"]],
            "children": [
                ["component:default/a", "hash-of-a"],
                ["component:default/b", "hash-of-b"],
                ["component:default/c", "hash-of-c"],
            ],
            "warnings": [warning.clone(), warning],
        });
        assert_eq!(ok.result_hash(), portico_model::hash::stable_hash(&expected));

        let empty =
            Processed::Ok { entity: json!({}), relations: vec![], children: vec![], warnings: vec![] };
        let expected = json!({"entity": {}, "relations": [], "children": [], "warnings": []});
        assert_eq!(empty.result_hash(), portico_model::hash::stable_hash(&expected));

        let errors = vec![SerializedError::input("bad")];
        let failed = Processed::Failed(errors.clone());
        assert_eq!(failed.result_hash(), portico_model::hash::stable_hash(&json!({ "errors": errors })));
    }
}
