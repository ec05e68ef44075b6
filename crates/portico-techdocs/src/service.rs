//! The docs service: which entities have docs, building and publishing their sites in the
//! background, and what the routes, pages and search read.
//!
//! It follows the catalog store's change feed (never the catalog plugin's internals). Every
//! documented entity is checked at most once per `check_interval` (and when its entity
//! changes): a cheap fingerprint of its sources decides whether anything needs building, so
//! unchanged sources cost nothing. A build writes into a staging folder that reuses the pages of
//! the published site, and replaces the published site only when it succeeded — a failed build
//! keeps the previous version served, with the failure shown beside it.
//!
//! Docs are as visible as their entity (`catalog.entity.read`, as in Backstage): what the routes
//! and pages serve goes through [`TechDocs::readable_entry`] and [`TechDocs::readable_entries`],
//! which answer for an entity the caller may not read exactly as for one that does not exist.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portico_plugin::Access;
use portico_plugin::Filter;
use portico_plugin::permission::permission::CATALOG_ENTITY_READ;
use portico_plugin::permission::{EntityClass, EntityClassifier};
use portico_reading::Reader;
use portico_search::api::{PushCollator, SearchDocument};
use portico_store::{CatalogStore, FinalChange};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, Semaphore};

use crate::build::{BuildOptions, build_site, source_fingerprint};
use crate::settings::{Builder, PublishRoot, TechDocsSettings};
use crate::source::{self, DocsSource, FetchedSite};

/// Name of the build record kept in every published site (beside `techdocs_metadata.json`).
pub const BUILD_RECORD: &str = "portico_build.json";
/// Changes read from the store's feed per call.
const FEED_BATCH: usize = 1_000;
/// New failures of one round of checks that are logged one by one; the rest are counted in a
/// single line. A first start on a catalog documents thousands of entities whose docs may all
/// fail the same way (no `mkdocs.yml` yet): 46,800 warnings at 100,000 generated entities.
const FAILURES_NAMED: usize = 10;

/// Namespace, kind and name as they appear in published paths and reader URLs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Triplet {
    pub namespace: String,
    pub kind: String,
    pub name: String,
}

impl Triplet {
    /// The triplet of an entity; `None` when a part could not be a folder name.
    pub fn of(entity: &Value, lower_case: bool) -> Option<Triplet> {
        Triplet::new(
            namespace_of(entity),
            str_of(entity, "/kind"),
            str_of(entity, "/metadata/name"),
            lower_case,
        )
    }

    /// The triplet of these parts; `None` when a part could not be a folder name.
    fn new(namespace: &str, kind: &str, name: &str, lower_case: bool) -> Option<Triplet> {
        let part = |value: &str| -> Option<String> {
            let value = if lower_case { value.to_lowercase() } else { value.to_owned() };
            let safe = !value.is_empty()
                && value != "."
                && value != ".."
                && !value.starts_with('.')
                && !value.contains(['/', '\\', '\0']);
            safe.then_some(value)
        };
        Some(Triplet { namespace: part(namespace)?, kind: part(kind)?, name: part(name)? })
    }

    /// `namespace/kind/name`.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.kind, self.name)
    }

    /// The key entries are stored under: the lower-cased triplet.
    fn key(&self) -> String {
        self.path().to_lowercase()
    }
}

/// Where a site is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BuildState {
    /// Not built yet.
    Pending,
    /// A build is running.
    Building,
    /// The last build succeeded and is published.
    Published,
    /// The last build failed; a previously published version, if any, is still served.
    Failed,
}

impl BuildState {
    pub fn label(self) -> &'static str {
        match self {
            BuildState::Pending => "Waiting for the first build",
            BuildState::Building => "Building",
            BuildState::Published => "Up to date",
            BuildState::Failed => "Build failed",
        }
    }
}

/// Why a check runs, which decides whether sources that failed to build are built again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckReason {
    /// The periodic background check: sources whose build failed are not built again until
    /// they change (a catalog may document thousands of entities whose docs cannot build).
    Periodic,
    /// A reader opened the docs or asked for a sync: unchanged sources whose build failed are
    /// built again, since the failure may have been a passing one.
    Requested,
}

/// The last build of a site, as the API and the reader show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildRecord {
    pub state: BuildState,
    /// When the last build or check finished (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// How long the last build took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Pages rendered and reused by the last build.
    pub pages_rendered: usize,
    pub pages_reused: usize,
    /// Problems of the last build that did not stop it.
    pub warnings: Vec<String>,
    /// Why the last build failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fingerprint of the sources the published site was built from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Fingerprint of the sources whose last build failed: periodic checks do not build them
    /// again until they change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_fingerprint: Option<String>,
    /// Whether a site is published (possibly from before a failed build).
    pub published: bool,
}

impl Default for BuildRecord {
    fn default() -> Self {
        BuildRecord {
            state: BuildState::Pending,
            finished_at: None,
            duration_ms: None,
            pages_rendered: 0,
            pages_reused: 0,
            warnings: Vec::new(),
            error: None,
            fingerprint: None,
            failed_fingerprint: None,
            published: false,
        }
    }
}

/// What the docs show and index of a documented entity, read once from the catalog's JSON: a
/// portal documents tens of thousands of entities, and keeping them whole (parsed, or even as
/// text) cost more than the catalog's own index. The one route that answers the whole entity
/// reads it from the store. The texts share one allocation: as separate strings, their headers
/// and allocator rounding cost more than the texts themselves.
#[derive(Debug, Clone)]
pub struct DocEntity {
    /// The [`Field`]s' texts end to end.
    texts: Box<str>,
    /// Where each field's text ends in `texts`.
    ends: [u32; Field::COUNT],
    read_class: ReadClass,
}

/// The texts a [`DocEntity`] keeps, in the order they are packed.
#[derive(Debug, Clone, Copy)]
enum Field {
    Kind,
    /// `metadata.namespace`, `default` when absent.
    Namespace,
    Name,
    /// `metadata.title` as written (empty when absent).
    Title,
    Description,
    Uid,
    /// `spec.owner` as written.
    Owner,
    /// The name part of the `ownedBy` relation's target (what search documents carry).
    OwnerName,
    SpecType,
    Lifecycle,
}

impl Field {
    const COUNT: usize = 10;
}

/// What the `catalog.entity.read` policies look at of an entity.
#[derive(Debug, Clone)]
enum ReadClass {
    /// The policies do not look at entities.
    Unclassified,
    Class(Box<EntityClass>),
    /// An entity the policies cannot judge: never readable under them.
    Unjudgeable,
}

impl DocEntity {
    fn of(entity: &Value, read_classifier: Option<&EntityClassifier>) -> DocEntity {
        let text = |pointer: &str| entity.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
        let owner_name = entity
            .get("relations")
            .and_then(Value::as_array)
            .and_then(|relations| {
                relations.iter().find(|r| r.get("type").and_then(Value::as_str) == Some("ownedBy"))
            })
            .and_then(|r| r.get("targetRef").and_then(Value::as_str))
            .map(|target| target.rsplit('/').next().unwrap_or(target))
            .unwrap_or_default();
        let fields: [&str; Field::COUNT] = [
            text("/kind"),
            namespace_of(entity),
            text("/metadata/name"),
            text("/metadata/title"),
            text("/metadata/description"),
            text("/metadata/uid"),
            text("/spec/owner"),
            owner_name,
            text("/spec/type"),
            text("/spec/lifecycle"),
        ];
        let mut texts = String::with_capacity(fields.iter().map(|f| f.len()).sum());
        let mut ends = [0; Field::COUNT];
        for (end, field) in ends.iter_mut().zip(fields) {
            texts.push_str(field);
            *end = u32::try_from(texts.len()).unwrap_or(u32::MAX);
        }
        let read_class = match read_classifier {
            Some(classifier) => match classifier.classify(entity) {
                Some(class) => ReadClass::Class(Box::new(class)),
                None => ReadClass::Unjudgeable,
            },
            None => ReadClass::Unclassified,
        };
        DocEntity { texts: texts.into_boxed_str(), ends, read_class }
    }

    fn field(&self, field: Field) -> &str {
        let at = field as usize;
        let start = if at == 0 { 0 } else { self.ends[at - 1] as usize };
        self.texts.get(start..self.ends[at] as usize).unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.field(Field::Kind)
    }

    /// `metadata.namespace`, `default` when absent.
    pub fn namespace(&self) -> &str {
        self.field(Field::Namespace)
    }

    pub fn name(&self) -> &str {
        self.field(Field::Name)
    }

    /// `metadata.title`, else the name.
    pub fn title(&self) -> &str {
        match self.field(Field::Title) {
            "" => self.name(),
            title => title,
        }
    }

    pub fn description(&self) -> &str {
        self.field(Field::Description)
    }

    pub fn uid(&self) -> &str {
        self.field(Field::Uid)
    }

    /// `spec.owner` as written.
    pub fn owner(&self) -> &str {
        self.field(Field::Owner)
    }

    /// The name part of the `ownedBy` relation's target (what search documents carry).
    pub fn owner_name(&self) -> &str {
        self.field(Field::OwnerName)
    }

    pub fn spec_type(&self) -> &str {
        self.field(Field::SpecType)
    }

    pub fn lifecycle(&self) -> &str {
        self.field(Field::Lifecycle)
    }

    /// `kind:namespace/name` with the entity's own case.
    pub fn entity_ref(&self) -> String {
        format!("{}:{}/{}", self.kind(), self.namespace(), self.name())
    }

    fn readable_with(&self, filter: &Filter<'_>) -> bool {
        match &self.read_class {
            ReadClass::Unclassified => filter.allows_class(&EntityClass::default()),
            ReadClass::Class(class) => filter.allows_class(class),
            ReadClass::Unjudgeable => false,
        }
    }
}

/// A documented entity.
#[derive(Debug, Clone)]
pub struct DocEntry {
    pub entity: DocEntity,
    /// Whether its triplet is lower-cased (`techdocs.legacyUseCaseSensitiveTripletPaths` off).
    lower_case_triplet: bool,
    pub source: Result<DocsSource, String>,
    pub build: BuildRecord,
    checked_at: Option<Instant>,
    search_ids: Vec<String>,
    /// The entity changed since its search documents were pushed.
    search_stale: bool,
}

impl DocEntry {
    pub fn title(&self) -> &str {
        self.entity.title()
    }

    /// `kind:namespace/name` with the entity's own case.
    pub fn entity_ref(&self) -> String {
        self.entity.entity_ref()
    }

    /// Where its site is published and read.
    pub fn triplet(&self) -> Triplet {
        let entity = &self.entity;
        // The entry exists because these parts made a valid triplet.
        Triplet::new(entity.namespace(), entity.kind(), entity.name(), self.lower_case_triplet)
            .unwrap_or_else(|| Triplet {
                namespace: entity.namespace().to_owned(),
                kind: entity.kind().to_owned(),
                name: entity.name().to_owned(),
            })
    }
}

/// The outcome of checking one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// A new version was published.
    Updated,
    /// Nothing changed (or the entity was checked too recently).
    Unchanged,
}

#[derive(Default)]
struct State {
    /// Documented entities by lower-cased triplet. Boxed: an entry is about 700 bytes, and a
    /// B-tree's nodes, half full after ordered inserts, would hold twice that in place.
    entries: BTreeMap<String, Box<DocEntry>>,
    /// Triplets with a check running.
    running: HashSet<String>,
}

/// The docs service (cheap to clone).
#[derive(Clone)]
pub struct TechDocs {
    inner: Arc<Inner>,
}

struct Inner {
    settings: TechDocsSettings,
    root: PathBuf,
    _temporary_root: Option<tempfile::TempDir>,
    store: Arc<dyn CatalogStore>,
    reader: Reader,
    search: Arc<PushCollator>,
    state: RwLock<State>,
    /// The store feed's cursor; `None` before the first snapshot. The lock also keeps two
    /// feed readers from applying the same changes.
    cursor: Mutex<Option<i64>>,
    build_slots: Semaphore,
    /// Groups entities for the `catalog.entity.read` policies; `None` when they do not look at
    /// entities.
    read_classifier: Option<EntityClassifier>,
}

impl TechDocs {
    /// The service over the catalog store; documents go to `search`. `read_classifier` comes
    /// from the portal's policies (the policy engine's entity classifier for `catalog.entity.read`).
    pub fn new(
        settings: TechDocsSettings,
        store: Arc<dyn CatalogStore>,
        reader: Reader,
        search: Arc<PushCollator>,
        read_classifier: Option<EntityClassifier>,
    ) -> std::io::Result<TechDocs> {
        let (root, temporary) = match &settings.publish_root {
            PublishRoot::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.canonicalize()?, None)
            }
            PublishRoot::Temporary => {
                let dir = tempfile::Builder::new().prefix("portico-techdocs").tempdir()?;
                (dir.path().canonicalize()?, Some(dir))
            }
        };
        // Leftovers of builds interrupted by a crash are never served; start clean.
        for scratch in [".staging", ".trash"] {
            let _ = std::fs::remove_dir_all(root.join(scratch));
        }
        let slots = settings.max_concurrent_builds.max(1);
        Ok(TechDocs {
            inner: Arc::new(Inner {
                settings,
                root,
                _temporary_root: temporary,
                store,
                reader,
                search,
                state: RwLock::new(State::default()),
                cursor: Mutex::new(None),
                build_slots: Semaphore::new(slots),
                read_classifier,
            }),
        })
    }

    pub fn settings(&self) -> &TechDocsSettings {
        &self.inner.settings
    }

    /// The folder published sites live in.
    pub fn publish_root(&self) -> &Path {
        &self.inner.root
    }

    /// The published site folder of a triplet (which may not exist).
    pub fn site_dir(&self, triplet: &Triplet) -> PathBuf {
        self.inner.root.join(&triplet.namespace).join(&triplet.kind).join(&triplet.name)
    }

    /// The triplet a request names, as published (lower-cased unless legacy casing is on).
    pub fn published_triplet(&self, namespace: &str, kind: &str, name: &str) -> Triplet {
        let case = |s: &str| {
            if self.inner.settings.case_sensitive_triplets { s.to_owned() } else { s.to_lowercase() }
        };
        Triplet { namespace: case(namespace), kind: case(kind), name: case(name) }
    }

    /// The documented entity a request names (any case), whoever asks: for the portal's own
    /// work. What is served to a caller comes from [`TechDocs::readable_entry`].
    pub fn entry(&self, namespace: &str, kind: &str, name: &str) -> Option<DocEntry> {
        let key = format!("{namespace}/{kind}/{name}").to_lowercase();
        self.read_state().entries.get(&key).map(|entry| DocEntry::clone(entry))
    }

    /// The documented entity a request names (any case), when `access` may read it; `None`
    /// both when there is none and when the caller may not read it, so the two look the same.
    pub fn readable_entry(
        &self,
        access: &Access,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Option<DocEntry> {
        let entry = self.entry(namespace, kind, name)?;
        (!access.enforces() || entry.entity.readable_with(&access.filter(&CATALOG_ENTITY_READ)))
            .then_some(entry)
    }

    /// The whole entity of an entry as the catalog serves it now; `None` when it left the
    /// catalog since the entry was read.
    pub async fn catalog_entity(&self, entry: &DocEntry) -> Result<Option<Value>, String> {
        let row = self
            .inner
            .store
            .final_entity(&entry.entity_ref().to_lowercase())
            .await
            .map_err(|e| e.to_string())?;
        Ok(row.and_then(|row| serde_json::from_str(&row.body).ok()))
    }

    /// Whether the catalog has this entity at all (documented or not) and `access` may read it.
    /// Only documented entities are kept here; when the read policies look at entities, an
    /// entity without docs is answered as unknown rather than guessed readable.
    pub async fn is_known(&self, access: &Access, namespace: &str, kind: &str, name: &str) -> bool {
        if access.enforces() {
            let filter = access.filter(&CATALOG_ENTITY_READ);
            if filter.reads_resource() || !filter.allows_class(&EntityClass::default()) {
                return false;
            }
        }
        let entity_ref = format!("{kind}:{namespace}/{name}").to_lowercase();
        matches!(self.inner.store.entity_id_of(&entity_ref).await, Ok(Some(_)))
    }

    /// Every documented entity `access` may read, by triplet.
    pub fn readable_entries(&self, access: &Access) -> Vec<DocEntry> {
        let state = self.read_state();
        if !access.enforces() {
            return state.entries.values().map(|entry| DocEntry::clone(entry)).collect();
        }
        let filter = access.filter(&CATALOG_ENTITY_READ);
        state
            .entries
            .values()
            .filter(|entry| entry.entity.readable_with(&filter))
            .map(|entry| DocEntry::clone(entry))
            .collect()
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies the store's changes since the last call (all of them the first time).
    pub async fn follow_catalog(&self) -> Result<usize, String> {
        let mut cursor = self.inner.cursor.lock().await;
        let store = &self.inner.store;
        let mut applied = 0;
        // The first call reads the whole feed in batches too (not one snapshot), so the
        // catalog's entities are never all in memory at once here.
        let mut seq = cursor.unwrap_or(0);
        loop {
            let changes = store.final_changes_since(seq, FEED_BATCH).await.map_err(|e| e.to_string())?;
            let Some(last) = changes.last() else { break };
            seq = last.change_seq();
            let mut fresh = Vec::new();
            let mut removed = Vec::new();
            {
                let mut state = self.write_state();
                for change in &changes {
                    match change {
                        FinalChange::Upsert(row) => {
                            let key = triplet_key_of_ref(&row.entity_ref);
                            let known_before = key.as_ref().is_some_and(|k| state.entries.contains_key(k));
                            match self.upsert(&mut state, &row.body) {
                                Some(key) if !known_before => fresh.push(key),
                                Some(_) => {}
                                // Not (or no longer) documented.
                                None => removed.extend(key.and_then(|k| state.entries.remove(&k))),
                            }
                        }
                        FinalChange::Delete { entity_ref, .. } => {
                            removed.extend(
                                triplet_key_of_ref(entity_ref).and_then(|key| state.entries.remove(&key)),
                            );
                        }
                    }
                }
            }
            applied += changes.len();
            *cursor = Some(seq);
            for key in fresh {
                self.restore_published(&key).await;
            }
            for entry in removed {
                self.unpublish(entry).await;
            }
        }
        Ok(applied)
    }

    /// Records an entity of the feed; returns its key when it is documented.
    fn upsert(&self, state: &mut State, body: &str) -> Option<String> {
        // Most entities have no docs; skip parsing those.
        if !body.contains(source::ANNOTATION_TECHDOCS_REF) {
            return None;
        }
        let entity: Value = serde_json::from_str(body).ok()?;
        let triplet = Triplet::of(&entity, !self.inner.settings.case_sensitive_triplets)?;
        let key = triplet.key();
        if !source::has_docs(&entity) {
            return None;
        }
        let resolved = source::resolve(&entity);
        match state.entries.get_mut(&key) {
            Some(entry) => {
                entry.entity = DocEntity::of(&entity, self.inner.read_classifier.as_ref());
                entry.source = resolved;
                // A changed entity (owner, title, docs source) is looked at again soon.
                entry.checked_at = None;
                entry.search_stale = true;
            }
            None => {
                state.entries.insert(
                    key.clone(),
                    Box::new(DocEntry {
                        entity: DocEntity::of(&entity, self.inner.read_classifier.as_ref()),
                        lower_case_triplet: !self.inner.settings.case_sensitive_triplets,
                        source: resolved,
                        build: BuildRecord::default(),
                        checked_at: None,
                        search_ids: Vec::new(),
                        search_stale: true,
                    }),
                );
            }
        }
        Some(key)
    }

    /// Loads what an earlier process published for a newly seen entry (build record and
    /// search documents), so a restart serves and finds existing docs at once.
    async fn restore_published(&self, key: &str) {
        let Some(entry) = self.read_state().entries.get(key).cloned() else { return };
        let dir = self.site_dir(&entry.triplet());
        let record = tokio::fs::read(dir.join(BUILD_RECORD))
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice::<BuildRecord>(&bytes).ok());
        let published = tokio::fs::try_exists(dir.join("techdocs_metadata.json")).await.unwrap_or(false);
        let record = match record {
            Some(mut record) => {
                record.published = published;
                record
            }
            None if published => {
                BuildRecord { state: BuildState::Published, published, ..BuildRecord::default() }
            }
            None => return,
        };
        let ids = if published { self.sync_search_documents(&entry, &dir).await } else { Vec::new() };
        let mut state = self.write_state();
        if let Some(current) = state.entries.get_mut(key) {
            current.build = record;
            current.search_stale = ids.is_empty();
            current.search_ids = ids;
        }
    }

    /// Removes a site that is no longer documented: its search documents and files.
    async fn unpublish(&self, entry: Box<DocEntry>) {
        for id in &entry.search_ids {
            self.inner.search.delete(id);
        }
        let dir = self.site_dir(&entry.triplet());
        if let Err(error) = tokio::fs::remove_dir_all(&dir).await
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, site = %dir.display(), "could not remove unpublished docs");
        }
    }

    /// Entries whose check is due.
    pub fn due(&self) -> Vec<String> {
        if self.inner.settings.builder == Builder::External {
            return Vec::new();
        }
        let state = self.read_state();
        let interval = self.inner.settings.check_interval;
        state
            .entries
            .iter()
            .filter(|(key, entry)| {
                !state.running.contains(*key) && entry.checked_at.is_none_or(|at| at.elapsed() >= interval)
            })
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Starts a background check of an entry unless one ran within `min_age` or is running
    /// (a page view asks for this, so an edited page shows on the next reload).
    pub fn recheck_soon(&self, entry: &DocEntry, min_age: Duration) {
        // A url source is read over the network on every check; page views do not bring its
        // periodic check forward.
        let min_age = match entry.source {
            Ok(DocsSource::Url(_)) => min_age.max(self.inner.settings.check_interval),
            _ => min_age,
        };
        if self.inner.settings.builder == Builder::External
            || entry.checked_at.is_some_and(|at| at.elapsed() < min_age)
        {
            return;
        }
        let key = entry.triplet().key();
        if self.read_state().running.contains(&key) {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move {
            let mut log = |line: String| tracing::debug!(site = %key, "{line}");
            if let Err(error) = service.check_if_older(&key, min_age, &mut log).await {
                tracing::warn!(site = %key, %error, "docs build failed");
            }
        });
    }

    /// Checks an entity now unless it was checked within `min_age`; see [`TechDocs::check`].
    pub async fn check_if_older(
        &self,
        key: &str,
        min_age: Duration,
        log: &mut (dyn FnMut(String) + Send),
    ) -> Result<CheckOutcome, String> {
        let recent = self
            .read_state()
            .entries
            .get(key)
            .and_then(|entry| entry.checked_at)
            .is_some_and(|at| at.elapsed() < min_age);
        if recent { Ok(CheckOutcome::Unchanged) } else { self.check(key, CheckReason::Requested, log).await }
    }

    /// Checks one documented entity (by lower-cased triplet key): prepares its sources, builds
    /// and publishes when they changed. Log lines go to `log`.
    pub async fn check(
        &self,
        key: &str,
        reason: CheckReason,
        log: &mut (dyn FnMut(String) + Send),
    ) -> Result<CheckOutcome, String> {
        let entry = {
            let mut state = self.write_state();
            let Some(entry) = state.entries.get(key).cloned() else {
                return Err(format!("No documented entity {key}"));
            };
            if !state.running.insert(key.to_owned()) {
                drop(state);
                log("A build of these docs is already running".to_owned());
                return Ok(CheckOutcome::Unchanged);
            }
            entry
        };
        let result = self.check_entry(&entry, reason, log).await;
        let mut state = self.write_state();
        state.running.remove(key);
        if let Some(current) = state.entries.get_mut(key) {
            current.checked_at = Some(Instant::now());
            match &result {
                Ok((_, Some((record, ids)))) => {
                    current.build = record.clone();
                    current.search_ids = ids.clone();
                    current.search_stale = false;
                }
                Ok((_, None)) => {}
                Err(record) => current.build = record.clone(),
            }
        }
        match result {
            Ok((outcome, _)) => Ok(outcome),
            Err(record) => Err(record.error.unwrap_or_default()),
        }
    }

    /// Prepares, builds and publishes one entry. `Ok` carries the new record and search ids
    /// when they changed; `Err` the record of a failure (the published site is untouched).
    #[allow(clippy::type_complexity)]
    async fn check_entry(
        &self,
        entry: &DocEntry,
        reason: CheckReason,
        log: &mut (dyn FnMut(String) + Send),
    ) -> Result<(CheckOutcome, Option<(BuildRecord, Vec<String>)>), BuildRecord> {
        let triplet = entry.triplet();
        let site = self.site_dir(&triplet);
        let source = match &entry.source {
            Ok(source) => source.clone(),
            Err(error) => {
                log(error.clone());
                return Err(self.record_failure(&site, &entry.build, error.clone(), None).await);
            }
        };
        log(format!("Preparing docs of {} from {}", entry.entity_ref(), source.describe()));
        let prepared = match self.prepare(&source).await {
            Ok(prepared) => prepared,
            Err(error) => {
                log(error.clone());
                return Err(self.record_failure(&site, &entry.build, error, None).await);
            }
        };
        if entry.build.published && entry.build.fingerprint.as_deref() == Some(prepared.fingerprint.as_str())
        {
            log("Sources unchanged; the published docs are current".to_owned());
            let ids = if entry.search_stale || entry.search_ids.is_empty() {
                self.sync_search_documents(entry, &site).await
            } else {
                entry.search_ids.clone()
            };
            let record = BuildRecord {
                state: BuildState::Published,
                error: None,
                failed_fingerprint: None,
                ..entry.build.clone()
            };
            return Ok((CheckOutcome::Unchanged, Some((record, ids))));
        }
        if reason == CheckReason::Periodic
            && entry.build.state == BuildState::Failed
            && entry.build.failed_fingerprint.as_deref() == Some(prepared.fingerprint.as_str())
        {
            log("These sources failed to build and have not changed since; not building them again"
                .to_owned());
            return Err(entry.build.clone());
        }

        let Ok(_slot) = self.inner.build_slots.acquire().await else {
            return Err(self.record_failure(&site, &entry.build, "shutting down".to_owned(), None).await);
        };
        self.set_state(&triplet.key(), BuildState::Building);
        log(format!("Building {}", triplet.path()));
        let staging = self.inner.root.join(".staging").join(triplet.path());
        let fingerprint = prepared.fingerprint.clone();
        let built = {
            let (site, staging, fingerprint) = (site.clone(), staging.clone(), fingerprint.clone());
            let source_dir = prepared.dir.clone();
            tokio::task::spawn_blocking(move || {
                let _ = std::fs::remove_dir_all(&staging);
                let options = BuildOptions {
                    previous_dir: site.is_dir().then_some(site),
                    etag: Some(fingerprint),
                    ..BuildOptions::default()
                };
                build_site(&source_dir, &staging, &options).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("the build stopped: {e}")))
        };
        let report = match built {
            Ok(report) => report,
            Err(error) => {
                log(format!("Build failed: {error}"));
                let _ = tokio::fs::remove_dir_all(&staging).await;
                return Err(self.record_failure(&site, &entry.build, error, Some(fingerprint)).await);
            }
        };
        let mut warnings = prepared.warnings.clone();
        warnings.extend(report.warnings.iter().cloned());
        for warning in &warnings {
            log(format!("warning: {warning}"));
        }
        let record = BuildRecord {
            state: BuildState::Published,
            finished_at: Some(now_millis()),
            duration_ms: Some(report.took.as_millis() as u64),
            pages_rendered: report.rendered,
            pages_reused: report.reused,
            warnings,
            error: None,
            fingerprint: Some(fingerprint),
            failed_fingerprint: None,
            published: true,
        };
        drop(prepared);
        let trash = self.inner.root.join(".trash").join(format!(
            "{}-{}",
            triplet.key().replace('/', "_"),
            now_millis()
        ));
        if let Err(error) = publish(&staging, &site, &trash, &record).await {
            let error = format!("could not publish the built docs: {error}");
            log(error.clone());
            return Err(self.record_failure(&site, &entry.build, error, None).await);
        }
        log(format!(
            "Published {} pages ({} rebuilt, {} unchanged) in {} ms",
            report.pages.len(),
            report.rendered,
            report.reused,
            report.took.as_millis()
        ));
        // The published site and its record change together; search follows.
        if let Some(current) = self.write_state().entries.get_mut(&triplet.key()) {
            current.build = record.clone();
        }
        let ids = self.sync_search_documents(entry, &site).await;
        Ok((CheckOutcome::Updated, Some((record, ids))))
    }

    fn set_state(&self, key: &str, build_state: BuildState) {
        if let Some(entry) = self.write_state().entries.get_mut(key) {
            entry.build.state = build_state;
        }
    }

    /// The record of a failed check, also written into the published site (if there is one)
    /// so the failure is shown after a restart too. `failed_fingerprint` names the sources when
    /// building them failed (not reading them, nor publishing the result: those may pass).
    async fn record_failure(
        &self,
        site: &Path,
        previous: &BuildRecord,
        error: String,
        failed_fingerprint: Option<String>,
    ) -> BuildRecord {
        let published = tokio::fs::try_exists(site.join("techdocs_metadata.json")).await.unwrap_or(false);
        let record = BuildRecord {
            state: BuildState::Failed,
            finished_at: Some(now_millis()),
            error: Some(error),
            failed_fingerprint,
            published,
            ..previous.clone()
        };
        if published {
            let _ = tokio::fs::write(
                site.join(BUILD_RECORD),
                serde_json::to_vec_pretty(&record).unwrap_or_default(),
            )
            .await;
        }
        record
    }

    /// Local sources are used in place; url sources are read into a temporary folder.
    async fn prepare(&self, source: &DocsSource) -> Result<Prepared, String> {
        match source {
            DocsSource::Dir { path, base } => {
                let (path, base) = (path.clone(), base.clone());
                tokio::task::spawn_blocking(move || {
                    let dir = source::checked_dir(&path, &base)?;
                    let fingerprint = source_fingerprint(&dir).map_err(|e| e.to_string())?;
                    Ok(Prepared { dir, fingerprint, warnings: Vec::new(), _temporary: None })
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            }
            DocsSource::Url(url) => {
                let site: FetchedSite = source::fetch_url_site(&self.inner.reader, url).await?;
                tokio::task::spawn_blocking(move || {
                    let temporary = tempfile::Builder::new()
                        .prefix("portico-docs-source")
                        .tempdir()
                        .map_err(|e| format!("could not create a build folder: {e}"))?;
                    site.write_to(temporary.path())
                        .map_err(|e| format!("could not write the sources: {e}"))?;
                    Ok(Prepared {
                        dir: temporary.path().to_path_buf(),
                        fingerprint: site.fingerprint,
                        warnings: site.warnings,
                        _temporary: Some(temporary),
                    })
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            }
        }
    }

    /// Makes the search documents of a published site current; returns their ids.
    async fn sync_search_documents(&self, entry: &DocEntry, site: &Path) -> Vec<String> {
        let index = tokio::fs::read(site.join("search/search_index.json"))
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        let docs = index.as_ref().and_then(|index| index.get("docs")).and_then(Value::as_array);
        let mut ids = Vec::new();
        for doc in docs.into_iter().flatten() {
            let document = search_document(entry, doc, &self.inner.settings.search_location_template);
            ids.push(document.id.clone());
            self.inner.search.upsert(document);
        }
        for stale in entry.search_ids.iter().filter(|id| !ids.contains(id)) {
            self.inner.search.delete(stale);
        }
        ids
    }

    /// One round of background work: follow the catalog, then check every due entry, at
    /// most `max_concurrent_builds` at a time.
    pub async fn run_due(&self) {
        if let Err(error) = self.follow_catalog().await {
            tracing::error!(%error, "docs could not read the catalog's changes");
            return;
        }
        let due = self.due();
        // Checks run a few at a time: a catalog documents thousands of entities, and a task
        // per entry at once would hold thousands of futures and blocking-pool threads.
        let limit = self.inner.settings.max_concurrent_builds.max(1) * 2;
        let mut checks = tokio::task::JoinSet::new();
        let failures = Arc::new(FailureReport::default());
        for key in due {
            if checks.len() >= limit {
                checks.join_next().await;
            }
            let service = self.clone();
            let previous_error =
                self.read_state().entries.get(&key).and_then(|entry| entry.build.error.clone());
            let failures = failures.clone();
            checks.spawn(async move {
                let mut log = |line: String| tracing::debug!(site = %key, "{line}");
                match service.check(&key, CheckReason::Periodic, &mut log).await {
                    Ok(_) => {}
                    // The same failure every check interval is news once: a catalog may hold
                    // thousands of entities whose docs cannot build, and the build record (the
                    // Docs tab, `/builds`) keeps showing it.
                    Err(error) if previous_error.as_ref() == Some(&error) => {
                        tracing::debug!(site = %key, %error, "docs build failed again");
                    }
                    Err(error) if failures.name_next() => {
                        tracing::warn!(site = %key, %error, "docs build failed")
                    }
                    Err(error) => tracing::debug!(site = %key, %error, "docs build failed"),
                }
            });
        }
        while checks.join_next().await.is_some() {}
        let unnamed = failures.unnamed();
        if unnamed > 0 {
            tracing::warn!(
                "docs could not be built for {unnamed} more entities; the docs list (/docs) marks \
                 them, and each entity's Docs tab says why"
            );
        }
    }
}

/// Counts the new failures of one round of checks, naming only the first [`FAILURES_NAMED`].
#[derive(Debug, Default)]
struct FailureReport {
    failed: AtomicUsize,
}

impl FailureReport {
    /// Counts a failure; `true` when it is among those logged by name.
    fn name_next(&self) -> bool {
        self.failed.fetch_add(1, Ordering::Relaxed) < FAILURES_NAMED
    }

    /// Failures counted but not named.
    fn unnamed(&self) -> usize {
        self.failed.load(Ordering::Relaxed).saturating_sub(FAILURES_NAMED)
    }
}

/// A prepared source folder (kept alive while it is built).
struct Prepared {
    dir: PathBuf,
    fingerprint: String,
    warnings: Vec<String>,
    _temporary: Option<tempfile::TempDir>,
}

/// Replaces the published site with the staged one: the old site is moved aside and removed
/// only once the new one is in place.
async fn publish(staging: &Path, site: &Path, trash: &Path, record: &BuildRecord) -> std::io::Result<()> {
    let record_json = serde_json::to_vec_pretty(record).unwrap_or_default();
    let (staging, site, trash) = (staging.to_path_buf(), site.to_path_buf(), trash.to_path_buf());
    tokio::task::spawn_blocking(move || {
        std::fs::write(staging.join(BUILD_RECORD), record_json)?;
        if let Some(parent) = site.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let had_site = site.exists();
        if had_site {
            if let Some(parent) = trash.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&site, &trash)?;
        }
        if let Err(error) = std::fs::rename(&staging, &site) {
            if had_site {
                let _ = std::fs::rename(&trash, &site);
            }
            return Err(error);
        }
        let _ = std::fs::remove_dir_all(&trash);
        Ok(())
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The search document of one page of a site (Backstage's `techdocs` document type).
fn search_document(entry: &DocEntry, doc: &Value, location_template: &str) -> SearchDocument {
    let path = doc.get("location").and_then(Value::as_str).unwrap_or_default();
    let entity = &entry.entity;
    let component_type = if entity.spec_type().is_empty() { "other" } else { entity.spec_type() };
    let triplet = entry.triplet();
    let location = location_template
        .replace(":namespace", &triplet.namespace)
        .replace(":kind", &triplet.kind)
        .replace(":name", &triplet.name)
        .replace(":path", path);
    let mut fields = Map::new();
    fields.insert("title".into(), json!(doc.get("title").and_then(Value::as_str).unwrap_or_default()));
    fields.insert("text".into(), json!(doc.get("text").and_then(Value::as_str).unwrap_or_default()));
    fields.insert("location".into(), json!(location));
    fields.insert("path".into(), json!(path));
    fields.insert("kind".into(), json!(entity.kind()));
    fields.insert("namespace".into(), json!(entity.namespace()));
    fields.insert("name".into(), json!(entity.name()));
    fields.insert("entityTitle".into(), json!(entry.title()));
    fields.insert("componentType".into(), json!(component_type));
    fields.insert("type".into(), json!(component_type));
    fields.insert("lifecycle".into(), json!(entity.lifecycle()));
    fields.insert("owner".into(), json!(entity.owner_name()));
    let resource_ref = entry.entity_ref().to_lowercase();
    let id = format!("{resource_ref}#{path}");
    fields.insert("authorization".into(), json!({ "resourceRef": resource_ref }));
    SearchDocument { id, fields, exact_names: Vec::new() }
}

fn str_of<'a>(entity: &'a Value, pointer: &str) -> &'a str {
    entity.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn namespace_of(entity: &Value) -> &str {
    entity.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default")
}

/// `kind:namespace/name` → lower-cased `namespace/kind/name`.
fn triplet_key_of_ref(entity_ref: &str) -> Option<String> {
    let (kind, rest) = entity_ref.split_once(':')?;
    let (namespace, name) = rest.split_once('/')?;
    Some(format!("{namespace}/{kind}/{name}").to_lowercase())
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_of_checks_names_its_first_failures_and_counts_the_rest() {
        let report = FailureReport::default();
        assert_eq!(report.unnamed(), 0);
        let named = (0..FAILURES_NAMED + 25).filter(|_| report.name_next()).count();
        assert_eq!(named, FAILURES_NAMED);
        assert_eq!(report.unnamed(), 25);
    }
}
