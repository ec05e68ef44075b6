//! The tantivy index: its schema, the documents as tantivy stores them, where generations live
//! on disk, and the shared reader queries go through.
//!
//! Layout on disk: `<index dir>/gen-<millis>/` holds one complete index; a generation counts
//! only once its `READY` marker exists, written after its first full commit. A rebuild writes a
//! new generation beside the serving one and the writer loop switches to it when it is ready,
//! so the old one serves until then.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TEXT, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::api::SearchDocument;

/// Tokenizer of the exact-name field: the whole value, lower-cased.
const KEYWORD: &str = "portico_keyword";
/// Marker file of a complete generation.
const READY: &str = "READY";
/// The fast field of `authorization.resourceRef`, read per matching document by
/// [`ReadableOnly`](crate::readable::ReadableOnly).
pub(crate) const RESOURCE_REF_FIELD: &str = "_resource_ref";
/// Separates the parts of a composite term (`kind` + value, type + id).
pub(crate) const SEP: char = '\u{1f}';

/// Failures of the index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("search index is invalid: {0}")]
    Invalid(String),
    #[error("collator '{document_type}': {message}")]
    Collator { document_type: String, message: String },
}

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// `type` + SEP + id: what an upsert or delete replaces.
    pub key: Field,
    pub doc_type: Field,
    pub title: Field,
    pub text: Field,
    /// Whole lower-cased names, for the exact-name boost.
    pub name: Field,
    /// `field` + SEP + lower-cased value for every scalar top-level field: filters.
    pub facets: Field,
    /// `authorization.resourceRef`, lower-cased: the catalog entity a caller must be allowed to
    /// read to find the document (a fast field, checked while matches are collected).
    pub resource_ref: Field,
    /// The document as JSON text.
    pub document: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let keyword = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(KEYWORD).set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        key: builder.add_text_field("_key", STRING),
        doc_type: builder.add_text_field("_type", STRING | STORED),
        title: builder.add_text_field("title", TEXT),
        text: builder.add_text_field("text", TEXT),
        name: builder.add_text_field("_name", keyword),
        facets: builder.add_text_field("_facets", STRING),
        resource_ref: builder.add_text_field(RESOURCE_REF_FIELD, FAST),
        document: builder.add_text_field("_document", STORED),
    };
    (builder.build(), fields)
}

/// Registers the tokenizers the schema names (tantivy does not persist them).
fn register_tokenizers(index: &Index) {
    index
        .tokenizers()
        .register(KEYWORD, TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser).build());
}

/// The key term of a document.
pub(crate) fn key_term(fields: &Fields, document_type: &str, id: &str) -> Term {
    Term::from_field_text(fields.key, &format!("{document_type}{SEP}{id}"))
}

/// A facet term (`kind` = `component`), lower-cased like the indexed values.
pub(crate) fn facet_term(fields: &Fields, field: &str, value: &str) -> Term {
    Term::from_field_text(fields.facets, &format!("{field}{SEP}{}", value.to_lowercase()))
}

/// A document as tantivy stores it.
pub(crate) fn to_tantivy(fields: &Fields, document_type: &str, document: &SearchDocument) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.key, format!("{document_type}{SEP}{}", document.id));
    doc.add_text(fields.doc_type, document_type);
    let text_of = |name: &str| document.fields.get(name).and_then(Value::as_str).unwrap_or_default();
    doc.add_text(fields.title, text_of("title"));
    doc.add_text(fields.text, text_of("text"));
    for name in &document.exact_names {
        doc.add_text(fields.name, name);
    }
    doc.add_text(fields.name, text_of("title"));
    for (name, value) in &document.fields {
        let scalars: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for scalar in scalars {
            if let Some(text) = scalar_text(scalar) {
                doc.add_text(fields.facets, format!("{name}{SEP}{}", text.to_lowercase()));
            }
        }
    }
    if let Some(resource_ref) =
        document.fields.get("authorization").and_then(|a| a.get("resourceRef")).and_then(Value::as_str)
    {
        doc.add_text(fields.resource_ref, resource_ref.to_lowercase());
    }
    doc.add_text(fields.document, Value::Object(document.fields.clone()).to_string());
    doc
}

/// The text a scalar filter value compares as.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// Generations in this folder.
    Dir(PathBuf),
    /// In memory (an in-memory database, tests): rebuilt at every start.
    Memory,
}

/// One opened index generation.
pub(crate) struct Generation {
    pub index: Index,
    pub reader: IndexReader,
    /// Its folder, `None` in memory.
    pub dir: Option<PathBuf>,
}

impl Generation {
    fn from_index(index: Index, dir: Option<PathBuf>) -> Result<Generation, SearchError> {
        register_tokenizers(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Generation { index, reader, dir })
    }

    /// A new, empty generation.
    pub fn create(location: &IndexLocation) -> Result<Generation, SearchError> {
        let (schema, _) = schema();
        match location {
            IndexLocation::Memory => Generation::from_index(Index::create_in_ram(schema), None),
            IndexLocation::Dir(root) => {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default();
                let mut dir = root.join(format!("gen-{millis:016}"));
                let mut n = 0;
                while dir.exists() {
                    n += 1;
                    dir = root.join(format!("gen-{millis:016}-{n}"));
                }
                std::fs::create_dir_all(&dir)
                    .map_err(|source| SearchError::Io { path: dir.clone(), source })?;
                let index = Index::create_in_dir(&dir, schema)?;
                Generation::from_index(index, Some(dir))
            }
        }
    }

    /// Opens a generation folder and checks that it can be read whole.
    pub fn open(dir: &Path) -> Result<Generation, SearchError> {
        let index = Index::open_in_dir(dir)?;
        let (schema, _) = schema();
        if index.schema() != schema {
            return Err(SearchError::Invalid("its schema is not this version's".into()));
        }
        let generation = Generation::from_index(index, Some(dir.to_owned()))?;
        // Opening a searcher opens every segment; a damaged file fails here, not on a query.
        let searcher = generation.reader.searcher();
        for segment in searcher.segment_readers() {
            segment.get_store_reader(0).map_err(|e| SearchError::Invalid(e.to_string()))?;
        }
        Ok(generation)
    }

    /// The commit payload (the feed cursors), if any.
    pub fn payload(&self) -> Result<Option<String>, SearchError> {
        Ok(self.index.load_metas()?.payload)
    }

    /// Marks the generation complete.
    pub fn mark_ready(&self) -> Result<(), SearchError> {
        if let Some(dir) = &self.dir {
            let path = dir.join(READY);
            std::fs::write(&path, b"ready\n").map_err(|source| SearchError::Io { path, source })?;
        }
        Ok(())
    }
}

/// The complete generations in `root`, newest first.
pub(crate) fn ready_generations(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("gen-"))
                && p.join(READY).is_file()
        })
        .collect();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// Removes generation folders other than `keep` (incomplete or replaced ones).
pub(crate) fn remove_other_generations(root: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let is_generation = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("gen-"));
        if is_generation
            && path != keep
            && let Err(error) = std::fs::remove_dir_all(&path)
        {
            tracing::warn!(path = %path.display(), %error, "could not remove an old search index");
        }
    }
}

/// What queries read: the serving generation, swapped whole when a rebuild completes.
pub struct SearchIndex {
    current: RwLock<Arc<Generation>>,
    pub(crate) fields: Fields,
}

impl SearchIndex {
    pub(crate) fn new(generation: Arc<Generation>) -> SearchIndex {
        SearchIndex { current: RwLock::new(generation), fields: schema().1 }
    }

    pub(crate) fn current(&self) -> Arc<Generation> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn replace(&self, generation: Arc<Generation>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = generation;
    }

    /// How many documents the serving generation holds.
    pub fn num_docs(&self) -> u64 {
        self.current().reader.searcher().num_docs()
    }
}
