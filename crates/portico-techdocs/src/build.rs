//! The build: `mkdocs.yml` + `docs/` in, an MkDocs-shaped site of HTML fragments out.
//!
//! Output layout (MkDocs' `use_directory_urls`): `index.md` → `index.html`,
//! `sub-page.md` → `sub-page/index.html`, `a/index.md` → `a/index.html`; other files of the docs
//! folder are copied as they are; `techdocs_metadata.json` and `search/search_index.json` sit at
//! the root, as Backstage's published sites have them.
//!
//! Builds are incremental: a page whose text, configuration and set of files hash the same as in
//! the previous build keeps that build's fragment, title, TOC and search text, and a file whose
//! bytes are unchanged is not written again. The previous build is the output folder itself, or
//! another folder ([`BuildOptions::previous_dir`]) whose unchanged fragments and files are
//! hard-linked into the output, so a site can be built into a fresh staging folder beside the
//! published one and swapped in only once the build succeeded. Pages render on every core.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::num::NonZeroUsize;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::config::{MkDocsConfig, NavItem};
use crate::markdown::{self, TocEntry};

/// Default [`BuildOptions::max_page_bytes`]: 5 MiB.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 5 * 1024 * 1024;

/// Deepest folder nesting walked inside `docs_dir`.
const MAX_FOLDER_DEPTH: usize = 32;

/// Part of every page hash and fingerprint: a new version may render the same sources
/// differently, so nothing built by another version is reused or taken as current.
const BUILDER_VERSION: &str = concat!("portico-techdocs ", env!("CARGO_PKG_VERSION"));

const METADATA_FILE: &str = "techdocs_metadata.json";
const SEARCH_INDEX_FILE: &str = "search/search_index.json";

/// How a build runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Pages larger than this are not rendered: they get a placeholder and a warning.
    pub max_page_bytes: u64,
    /// The `etag` written to the metadata (e.g. a commit SHA); default: a hash of the sources.
    pub etag: Option<String>,
    /// Reuse what the previous build made from unchanged inputs: its pages whose inputs did not
    /// change, and its files whose bytes did not change. `false` renders and writes everything.
    pub incremental: bool,
    /// The folder of the previous build when it is not the output folder: with `incremental`,
    /// its metadata, search index and page fragments are read from there, and unchanged
    /// fragments and files are hard-linked (copied where linking is not possible) into the
    /// output folder. Nothing in it is ever changed, so a build into a fresh staging folder that
    /// fails leaves the published site as it was. A folder that does not exist means a cold
    /// build. `None`: the previous build is the output folder (an in-place build).
    pub previous_dir: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            etag: None,
            incremental: true,
            previous_dir: None,
        }
    }
}

/// Why a build failed as a whole. Problems with single pages are warnings instead.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Neither `mkdocs.yaml` nor `mkdocs.yml` could be read.
    #[error("Could not read MkDocs YAML config file mkdocs.yml or mkdocs.yaml for validation")]
    MissingConfig,
    /// `mkdocs.yml` is not valid.
    #[error("invalid mkdocs.yml: {0}")]
    InvalidConfig(String),
    /// The configuration names a path outside the source folder.
    #[error("{0}")]
    UnsafePath(String),
    /// Reading the sources or writing the site failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io { path: path.to_path_buf(), source }
}

/// One built page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageReport {
    /// Source path relative to `docs_dir`, `/`-separated (`code/code-sample.md`).
    pub source: String,
    /// Site-relative URL of the page (`""` for the home page, `code/code-sample/`).
    pub location: String,
    /// The nav title, else the first level-1 heading, else the file name.
    pub title: String,
    /// The page's headings.
    pub toc: Vec<TocEntry>,
    /// Link to edit the page in its repository, from `repo_url`/`edit_uri`.
    pub edit_url: Option<String>,
    /// Hash of everything the page's output depends on; empty when the page was not rendered.
    pub hash: String,
    /// This page's problems (broken links, size limit, …), also in [`BuildReport::warnings`].
    pub warnings: Vec<String>,
}

/// One document of `search/search_index.json` (the format of MkDocs' search plugin).
#[derive(Debug, Serialize, Deserialize)]
struct SearchDoc {
    location: String,
    #[serde(default)]
    title: String,
    text: String,
}

/// `search/search_index.json`.
#[derive(Debug, Serialize, Deserialize)]
struct SearchIndex {
    #[serde(default)]
    config: Value,
    docs: Vec<SearchDoc>,
}

/// `techdocs_metadata.json` as written.
#[derive(Serialize)]
struct Metadata<'a> {
    site_name: &'a str,
    site_description: &'a str,
    etag: &'a str,
    build_timestamp: u64,
    files: &'a [String],
    nav: &'a [NavEntry],
    pages: &'a [PageReport],
}

/// The parts of a previous `techdocs_metadata.json` read back.
#[derive(Deserialize)]
struct PreviousMetadata {
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    pages: Vec<PageReport>,
}

/// What a previous build left: the files it wrote, and pages that can be reused when unchanged.
#[derive(Debug, Default)]
struct Previous {
    files: Vec<String>,
    pages: HashMap<String, PageReport>,
    /// Search text by page location.
    texts: HashMap<String, String>,
}

impl Previous {
    /// Reads the metadata (and, `with_pages`, the search index) of the build in `dir`; anything
    /// unreadable means "nothing reusable".
    fn load(dir: &Path, with_pages: bool) -> Previous {
        let read = |rel: &str| fs::read(dir.join(rel)).ok();
        // The two files are parsed side by side: they are the bulk of an incremental build's
        // reading.
        let (metadata, texts) = thread::scope(|scope| {
            let texts = with_pages.then(|| {
                scope.spawn(|| {
                    let index: SearchIndex = serde_json::from_slice(&read(SEARCH_INDEX_FILE)?).ok()?;
                    Some(index.docs.into_iter().map(|doc| (doc.location, doc.text)).collect())
                })
            });
            let metadata =
                read(METADATA_FILE).and_then(|bytes| serde_json::from_slice::<PreviousMetadata>(&bytes).ok());
            (metadata, texts.and_then(joined))
        });
        let Some(metadata) = metadata else {
            return Previous::default();
        };
        if !with_pages {
            return Previous { files: metadata.files, ..Previous::default() };
        }
        Previous {
            files: metadata.files,
            pages: metadata.pages.into_iter().map(|page| (page.source.clone(), page)).collect(),
            texts: texts.unwrap_or_default(),
        }
    }

    /// The previous page and its search text, when its hash matches.
    fn reusable(&self, source: &str, hash: &str) -> Option<(PageReport, String)> {
        let page = self.pages.get(source).filter(|page| !page.hash.is_empty() && page.hash == hash)?;
        let text = self.texts.get(&page.location)?;
        Some((page.clone(), text.clone()))
    }
}

/// One entry of the built navigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NavEntry {
    /// Shown text.
    pub title: String,
    /// Site-relative URL of a page (`None` for sections and external links).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Absolute URL of an external link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Entries of a section.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<NavEntry>,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// `site_name` of `mkdocs.yml`.
    pub site_name: String,
    /// Every built page, in source-path order.
    pub pages: Vec<PageReport>,
    /// The navigation (from `nav`, or from the folder tree).
    pub nav: Vec<NavEntry>,
    /// Problems that did not stop the build (unknown plugins, broken links, skipped files, …).
    pub warnings: Vec<String>,
    /// Pages rendered by this build.
    pub rendered: usize,
    /// Unchanged pages reused from the previous build (see [`BuildOptions::incremental`]).
    pub reused: usize,
    /// How long the build took.
    pub took: Duration,
}

/// Builds the site in `source_dir` into `output_dir`. See [`build_site_with_progress`].
pub fn build_site(
    source_dir: &Path,
    output_dir: &Path,
    options: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    build_site_with_progress(source_dir, output_dir, options, &mut |_, _| {})
}

/// Builds the site in `source_dir` (the folder with `mkdocs.yml`) into `output_dir`, calling
/// `progress(pages_done, pages_total)` after each page. Nothing outside `source_dir` is read:
/// `docs_dir` and nav entries must stay inside it, and symlinks pointing outside are skipped.
///
/// An in-place build (no [`BuildOptions::previous_dir`]) also removes the files the previous
/// build in `output_dir` wrote and this one did not (a renamed page's old fragment).
pub fn build_site_with_progress(
    source_dir: &Path,
    output_dir: &Path,
    options: &BuildOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let link_from = options.previous_dir.as_deref().filter(|previous| !same_folder(previous, output_dir));
    let in_place = link_from.is_none();
    let previous_dir = link_from.unwrap_or(output_dir);
    // The previous build is read while the sources are walked.
    let (sources, previous) = thread::scope(|scope| {
        let previous = scope.spawn(|| match (options.incremental, in_place) {
            (true, _) => Previous::load(previous_dir, true),
            // Still needed to remove what the previous build wrote and this one does not.
            (false, true) => Previous::load(output_dir, false),
            (false, false) => Previous::default(),
        });
        (Sources::read(source_dir), joined(previous))
    });
    let Sources { config_text, config, mut warnings, files } = sources?;
    if let Some(nav) = &config.nav {
        check_nav(nav)?;
    }
    let (mut page_files, mut asset_files): (Vec<SourceFile>, Vec<SourceFile>) =
        files.into_iter().partition(|file| file.rel.ends_with(".md"));
    page_files.sort_by(|a, b| a.rel.cmp(&b.rel));
    asset_files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let locations: BTreeMap<String, String> =
        page_files.iter().map(|file| (file.rel.clone(), location_of(&file.rel))).collect();
    let assets: BTreeSet<String> = asset_files.iter().map(|file| file.rel.clone()).collect();
    let nav_titles = nav_titles(config.nav.as_deref().unwrap_or_default());

    // What every page's output depends on besides its own text: the configuration and which
    // pages and files exist (links are resolved against them).
    let mut site_hasher = Sha1::new();
    site_hasher.update(BUILDER_VERSION.as_bytes());
    site_hasher.update(config_text.as_bytes());
    site_hasher.update(options.max_page_bytes.to_le_bytes());
    for path in locations.keys().chain(&assets) {
        site_hasher.update(path.as_bytes());
        site_hasher.update([0]);
    }

    fs::create_dir_all(output_dir).map_err(io(output_dir))?;
    let site_digest: [u8; 20] = site_hasher.clone().finalize().into();
    let job = PageBuild {
        output_dir,
        link_from,
        previous: &previous,
        site_digest,
        config: &config,
        nav_titles: &nav_titles,
        locations: &locations,
        assets: &assets,
        max_page_bytes: options.max_page_bytes,
    };
    let built = build_pages(&job, &page_files, progress)?;

    // The default etag: a hash of every source, in source order.
    let mut hasher = site_hasher;
    let mut pages = Vec::with_capacity(built.len());
    let mut search_docs = Vec::with_capacity(built.len());
    let mut written = Vec::with_capacity(built.len() + asset_files.len() + 1);
    let (mut rendered, mut reused) = (0, 0);
    for page in built {
        if let Some(digest) = page.digest {
            hasher.update(page.report.source.as_bytes());
            hasher.update(digest);
        }
        if page.rendered {
            rendered += 1;
        } else {
            reused += 1;
        }
        warnings.extend(page.report.warnings.iter().cloned());
        written.push(format!("{}index.html", page.report.location));
        search_docs.push(SearchDoc {
            location: page.report.location.clone(),
            title: page.report.title.clone(),
            text: page.text,
        });
        pages.push(page.report);
    }

    for asset in &asset_files {
        let bytes = fs::read(&asset.path).map_err(io(&asset.path))?;
        hasher.update(asset.rel.as_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
        let previous_file = previous_dir.join(&asset.rel);
        let unchanged = options.incremental
            && same_contents(&previous_file, &bytes)
            && (in_place || link_or_copy(&previous_file, &output_dir.join(&asset.rel))?);
        if !unchanged {
            write(output_dir, &asset.rel, &bytes)?;
        }
        written.push(asset.rel.clone());
    }

    let nav = match &config.nav {
        Some(items) => {
            let by_source: HashMap<&str, &PageReport> =
                pages.iter().map(|page| (page.source.as_str(), page)).collect();
            resolve_nav(items, &by_source, &mut warnings)
        }
        None => tree_nav(&pages),
    };

    let search = SearchIndex {
        config: json!({ "lang": ["en"], "separator": "[\\s\\-]+", "pipeline": ["stopWordFilter"] }),
        docs: search_docs,
    };
    written.push(SEARCH_INDEX_FILE.to_string());

    let build_timestamp =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default();
    let etag = options.etag.clone().unwrap_or_else(|| hex::encode(hasher.finalize()));
    let metadata = Metadata {
        site_name: &config.site_name,
        site_description: config.site_description.as_deref().unwrap_or_default(),
        etag: &etag,
        build_timestamp,
        files: &written,
        nav: &nav,
        pages: &pages,
    };
    let (search_written, metadata_written) = thread::scope(|scope| {
        let search_written = scope.spawn(|| write_json(output_dir, SEARCH_INDEX_FILE, &search, false));
        let metadata_written = write_json(output_dir, METADATA_FILE, &metadata, true);
        (joined(search_written), metadata_written)
    });
    search_written?;
    metadata_written?;

    if in_place {
        let current: HashSet<&str> = written.iter().map(String::as_str).collect();
        for stale in previous.files.iter().filter(|file| !current.contains(file.as_str())) {
            remove_stale(output_dir, stale)?;
        }
    }

    Ok(BuildReport {
        site_name: config.site_name,
        pages,
        nav,
        warnings,
        rendered,
        reused,
        took: started.elapsed(),
    })
}

/// A cheap fingerprint of everything a build of `source_dir` reads: the text of `mkdocs.yml`
/// (or `mkdocs.yaml`) and the relative path, size and modification time (in nanoseconds) of
/// every file of its `docs_dir`, found the way the build finds them (hidden files skipped,
/// symlinks leading outside the source folder skipped, a symlinked file stamped by its
/// target). File contents are not read. Equal fingerprints mean a build would make the same
/// site, so it can be skipped.
///
/// A folder the build rejects (no or invalid `mkdocs.yml`, a `docs_dir` outside the folder or
/// missing) still gets a fingerprint, so a broken folder that did not change need not be
/// built again to fail the same way. Errors only when the folder cannot be read.
pub fn source_fingerprint(source_dir: &Path) -> Result<String, BuildError> {
    let root = source_dir.canonicalize().map_err(io(source_dir))?;
    let mut hasher = Sha1::new();
    field(&mut hasher, BUILDER_VERSION.as_bytes());
    let Some((config_name, config_text)) = read_config(&root) else {
        field(&mut hasher, b"no configuration");
        return Ok(hex::encode(hasher.finalize()));
    };
    field(&mut hasher, config_name.as_bytes());
    field(&mut hasher, config_text.as_bytes());
    let Ok((config, _)) = MkDocsConfig::parse(&config_text) else {
        return Ok(hex::encode(hasher.finalize()));
    };
    match docs_root(&root, &config) {
        Ok(docs_root) => {
            let (mut files, mut warnings) = (Vec::new(), Vec::new());
            walk(&root, &docs_root, "", 0, &mut files, &mut warnings)?;
            for file in &files {
                field(&mut hasher, file.rel.as_bytes());
                hasher.update(file.meta.len().to_le_bytes());
                hasher.update(modified_nanos(&file.meta).to_le_bytes());
                if let Some(target) = &file.link_target {
                    field(&mut hasher, target.as_os_str().as_encoded_bytes());
                }
            }
            // Skipped entries show as warnings in the build.
            for warning in &warnings {
                field(&mut hasher, warning.as_bytes());
            }
        }
        Err(BuildError::Io { .. }) => field(&mut hasher, b"docs_dir missing"),
        Err(_) => field(&mut hasher, b"docs_dir rejected"),
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Adds one length-prefixed field, so that consecutive fields cannot run into each other.
fn field(hasher: &mut Sha1, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// Nanoseconds since the Unix epoch (negative before it; 0 where the platform has no times).
fn modified_nanos(meta: &fs::Metadata) -> i128 {
    match meta.modified().map(|time| time.duration_since(UNIX_EPOCH)) {
        Ok(Ok(after)) => after.as_nanos() as i128,
        Ok(Err(before)) => -(before.duration().as_nanos() as i128),
        Err(_) => 0,
    }
}

/// What a build reads: the configuration and the files of the docs folder.
struct Sources {
    config_text: String,
    config: MkDocsConfig,
    /// Problems found so far (unknown plugins, skipped files).
    warnings: Vec<String>,
    files: Vec<SourceFile>,
}

impl Sources {
    fn read(source_dir: &Path) -> Result<Sources, BuildError> {
        let root = source_dir.canonicalize().map_err(io(source_dir))?;
        let (_, config_text) = read_config(&root).ok_or(BuildError::MissingConfig)?;
        let (config, mut warnings) = MkDocsConfig::parse(&config_text).map_err(BuildError::InvalidConfig)?;
        let docs_root = docs_root(&root, &config)?;
        let mut files = Vec::new();
        walk(&root, &docs_root, "", 0, &mut files, &mut warnings)?;
        Ok(Sources { config_text, config, warnings, files })
    }
}

/// The name and text of the configuration in `root` (`mkdocs.yaml`, else `mkdocs.yml`); only a
/// file that resolves inside `root` is read.
fn read_config(root: &Path) -> Option<(&'static str, String)> {
    ["mkdocs.yaml", "mkdocs.yml"].into_iter().find_map(|name| {
        let path = root.join(name);
        if !path.canonicalize().is_ok_and(|real| real.starts_with(root)) {
            return None;
        }
        Some((name, fs::read_to_string(&path).ok()?))
    })
}

/// The canonical `docs_dir` of `config`, which must stay inside `root`.
fn docs_root(root: &Path, config: &MkDocsConfig) -> Result<PathBuf, BuildError> {
    let docs_dir = Path::new(&config.docs_dir);
    if docs_dir.is_absolute() || docs_dir.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(BuildError::UnsafePath(format!(
            "docs_dir configuration value in mkdocs can't be an absolute directory or start with ../ for security reasons: {}",
            config.docs_dir
        )));
    }
    let docs_root = root.join(docs_dir).canonicalize().map_err(io(&root.join(docs_dir)))?;
    if !docs_root.starts_with(root) {
        return Err(BuildError::UnsafePath(format!(
            "docs_dir {} resolves outside the source folder",
            config.docs_dir
        )));
    }
    Ok(docs_root)
}

/// One file of the docs folder.
struct SourceFile {
    /// Path relative to `docs_dir`, `/`-separated.
    rel: String,
    /// Where it is read (a symlink's own path; reading follows it).
    path: PathBuf,
    /// Metadata of what is read (a symlink's target): size and modification time.
    meta: fs::Metadata,
    /// The resolved target of a symlink.
    link_target: Option<PathBuf>,
}

/// Collects the files under `dir`, with paths relative to the docs root. Hidden files are
/// skipped (as MkDocs does); so are symlinks leading outside `root`.
fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<SourceFile>,
    warnings: &mut Vec<String>,
) -> Result<(), BuildError> {
    if depth > MAX_FOLDER_DEPTH {
        warnings.push(format!("{prefix}: folders nested too deeply; skipped"));
        return Ok(());
    }
    let mut entries: Vec<_> = fs::read_dir(dir).map_err(io(dir))?.filter_map(Result::ok).collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            warnings.push(format!("{prefix}: a file name that is not UTF-8 was skipped"));
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let path = entry.path();
        let meta = entry.metadata().map_err(io(&path))?;
        if meta.file_type().is_symlink() {
            let target = path.canonicalize().ok().filter(|target| target.starts_with(root));
            match target.map(|target| (fs::metadata(&target), target)) {
                Some((Ok(meta), target)) if meta.is_file() => {
                    out.push(SourceFile { rel, path, meta, link_target: Some(target) })
                }
                Some(_) => {
                    // Linked folders are not followed: they could form cycles.
                    warnings.push(format!("{rel}: symlinked folder skipped"));
                }
                None => warnings.push(format!("{rel}: symlink pointing outside the source folder skipped")),
            }
        } else if meta.is_dir() {
            walk(root, &path, &format!("{rel}/"), depth + 1, out, warnings)?;
        } else if meta.is_file() {
            out.push(SourceFile { rel, path, meta, link_target: None });
        }
    }
    Ok(())
}

/// Everything building one page reads besides the page itself; shared by the workers.
struct PageBuild<'a> {
    output_dir: &'a Path,
    /// The previous build's folder when it is not the output folder: reused fragments are
    /// linked from there.
    link_from: Option<&'a Path>,
    previous: &'a Previous,
    /// Hash of what every page's output depends on besides its own text.
    site_digest: [u8; 20],
    config: &'a MkDocsConfig,
    nav_titles: &'a BTreeMap<&'a str, String>,
    locations: &'a BTreeMap<String, String>,
    assets: &'a BTreeSet<String>,
    max_page_bytes: u64,
}

/// One page's outcome.
struct BuiltPage {
    report: PageReport,
    /// The page's search text.
    text: String,
    /// SHA-1 of the page's source, for the etag; `None` for a page too large to be read.
    digest: Option<[u8; 20]>,
    /// Rendered by this build, rather than reused.
    rendered: bool,
}

/// A page's source, unless it is over the size limit.
enum PageSource {
    Text(Vec<u8>),
    TooLarge(u64),
}

/// Builds `files` on every core, reporting each finished page to `progress`; returns the
/// pages in the order of `files`.
fn build_pages(
    job: &PageBuild,
    files: &[SourceFile],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<BuiltPage>, BuildError> {
    let total = files.len();
    let workers = thread::available_parallelism().map_or(1, NonZeroUsize::get).min(total);
    // Pages are claimed one at a time, in an order that keeps the workers in different parts of
    // the site: neighbouring pages share a folder, and the file system serialises creating
    // folders in the same parent. Claim `c` is page `(c % workers) * stride + c / workers`.
    let stride = total.div_ceil(workers.max(1));
    let claims = stride * workers;
    let spread = move |claim: usize| (claim % workers) * stride + claim / workers;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let mut built: Vec<Option<BuiltPage>> = (0..total).map(|_| None).collect();
    let mut failure = None;
    thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for _ in 0..workers {
            let sender = sender.clone();
            let (next, failed) = (&next, &failed);
            scope.spawn(move || {
                while !failed.load(Ordering::Relaxed) {
                    let claim = next.fetch_add(1, Ordering::Relaxed);
                    if claim >= claims {
                        break;
                    }
                    let index = spread(claim);
                    let Some(file) = files.get(index) else { continue };
                    let result = job.build(file);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if sender.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut done = 0;
        for (index, result) in receiver {
            match result {
                Ok(page) => {
                    built[index] = Some(page);
                    done += 1;
                    progress(done, total);
                }
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(built.into_iter().flatten().collect()),
    }
}

impl PageBuild<'_> {
    /// Reuses the previous build of `file` if its inputs are unchanged, else renders it.
    fn build(&self, file: &SourceFile) -> Result<BuiltPage, BuildError> {
        let source = file.rel.as_str();
        let location = location_of(source);
        let out_file = format!("{location}index.html");
        let bytes = match read_page(file, self.max_page_bytes)? {
            PageSource::Text(bytes) => bytes,
            PageSource::TooLarge(size) => return self.placeholder(source, location, &out_file, size),
        };
        let digest: [u8; 20] = Sha1::digest(&bytes).into();
        let hash = hex::encode(Sha1::new().chain_update(self.site_digest).chain_update(digest).finalize());
        if let Some((report, text)) = self.previous.reusable(source, &hash) {
            let fragment_kept = match self.link_from {
                None => is_regular_file(&self.output_dir.join(&out_file)),
                Some(previous_dir) => {
                    link_or_copy(&previous_dir.join(&out_file), &self.output_dir.join(&out_file))?
                }
            };
            if fragment_kept {
                return Ok(BuiltPage { report, text, digest: Some(digest), rendered: false });
            }
        }

        let mut page_warnings = Vec::new();
        let markdown_text = String::from_utf8_lossy(&bytes);
        let mut rewrite = |url: &str| match resolve_link(url, source, self.locations, self.assets) {
            Ok(href) => href,
            Err(problem) => {
                page_warnings.push(format!("{source}: {problem}"));
                url.to_string()
            }
        };
        let rendered = markdown::render(&markdown_text, &mut rewrite);
        if rendered.raw_html_escaped {
            page_warnings
                .push(format!("{source}: too much or too deeply nested raw HTML; the rest is shown as text"));
        }
        write(self.output_dir, &out_file, rendered.html.as_bytes())?;
        let title =
            self.nav_titles.get(source).cloned().or(rendered.title).unwrap_or_else(|| file_title(source));
        let report = PageReport {
            edit_url: self.config.edit_url(source),
            source: source.to_string(),
            location,
            title,
            toc: rendered.toc,
            hash,
            warnings: page_warnings,
        };
        Ok(BuiltPage { report, text: rendered.text, digest: Some(digest), rendered: true })
    }

    /// A page over the size limit: a placeholder saying so, and a warning.
    fn placeholder(
        &self,
        source: &str,
        location: String,
        out_file: &str,
        size: u64,
    ) -> Result<BuiltPage, BuildError> {
        let warning = format!(
            "{source}: the page is {size} bytes, more than the limit of {} bytes; it was not rendered",
            self.max_page_bytes
        );
        let html = format!(
            "<div class=\"admonition warning\">\n<p class=\"admonition-title\">Page too large</p>\n<p>{} is too large to be shown.</p>\n</div>\n",
            portico_web::escape(source)
        );
        write(self.output_dir, out_file, html.as_bytes())?;
        let report = PageReport {
            edit_url: self.config.edit_url(source),
            source: source.to_string(),
            location,
            title: self.nav_titles.get(source).cloned().unwrap_or_else(|| file_title(source)),
            toc: Vec::new(),
            hash: String::new(),
            warnings: vec![warning],
        };
        Ok(BuiltPage { report, text: String::new(), digest: None, rendered: true })
    }
}

/// Reads a page, never more than `max_bytes + 1` bytes of it (it may have grown since the walk).
fn read_page(file: &SourceFile, max_bytes: u64) -> Result<PageSource, BuildError> {
    let size = file.meta.len();
    if size > max_bytes {
        return Ok(PageSource::TooLarge(size));
    }
    let opened = File::open(&file.path).map_err(io(&file.path))?;
    let mut bytes = Vec::with_capacity(size as usize);
    opened.take(max_bytes + 1).read_to_end(&mut bytes).map_err(io(&file.path))?;
    if bytes.len() as u64 > max_bytes {
        return Ok(PageSource::TooLarge(bytes.len() as u64));
    }
    Ok(PageSource::Text(bytes))
}

/// The value of a scoped thread, whose panic is the caller's.
fn joined<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Whether `a` and `b` are the same existing folder.
fn same_folder(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// A regular file, not a symlink (a previous build never writes symlinks).
fn is_regular_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.is_file())
}

/// Whether `path` is a regular file holding exactly `bytes`.
fn same_contents(path: &Path, bytes: &[u8]) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() == bytes.len() as u64)
        && fs::read(path).is_ok_and(|old| old == bytes)
}

/// Puts the previous build's file `from` at `to`: a hard link where the file system allows it,
/// else a copy. `false` when `from` is not a regular file.
fn link_or_copy(from: &Path, to: &Path) -> Result<bool, BuildError> {
    if !is_regular_file(from) {
        return Ok(false);
    }
    prepare_target(to)?;
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).map_err(io(to))?;
    }
    Ok(true)
}

/// Makes way for a new file at `path`: its folder exists, and an earlier file there is unlinked
/// rather than overwritten, since it may be a hard link shared with another build's folder.
fn prepare_target(path: &Path) -> Result<(), BuildError> {
    if let Some(parent) = path.parent() {
        match fs::create_dir(parent) {
            // A new folder holds nothing to replace.
            Ok(()) => return Ok(()),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
            Err(_) => fs::create_dir_all(parent).map_err(io(parent))?,
        }
    }
    match fs::remove_file(path) {
        Err(error) if error.kind() != ErrorKind::NotFound => Err(io(path)(error)),
        _ => Ok(()),
    }
}

/// Writes `rel` (a `/`-separated path already checked to stay inside) under `output`.
fn write(output: &Path, rel: &str, bytes: &[u8]) -> Result<(), BuildError> {
    let path = output.join(rel);
    prepare_target(&path)?;
    fs::write(&path, bytes).map_err(io(&path))
}

/// Writes `value` as JSON to `rel` under `output`.
fn write_json(output: &Path, rel: &str, value: &impl Serialize, pretty: bool) -> Result<(), BuildError> {
    let bytes = if pretty { serde_json::to_vec_pretty(value) } else { serde_json::to_vec(value) };
    let bytes = bytes.map_err(|error| BuildError::Io { path: output.join(rel), source: error.into() })?;
    write(output, rel, &bytes)
}

/// Removes a file that the previous build in `output` wrote and this one did not, and the
/// folders that leaves empty. Only plain relative paths inside `output` are touched.
fn remove_stale(output: &Path, rel: &str) -> Result<(), BuildError> {
    let relative = Path::new(rel);
    if rel.is_empty() || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Ok(());
    }
    let path = output.join(relative);
    if fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir()) {
        return Ok(());
    }
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io(&path)(error)),
    }
    let mut folder = path.parent();
    while let Some(dir) = folder.filter(|dir| *dir != output) {
        // Fails, and stops the climb, at the first folder that still holds something.
        if fs::remove_dir(dir).is_err() {
            break;
        }
        folder = dir.parent();
    }
    Ok(())
}

/// `index.md` → `""`, `a/index.md` → `a/`, `a/b.md` → `a/b/`.
fn location_of(source: &str) -> String {
    let stem = source.strip_suffix(".md").unwrap_or(source);
    if stem == "index" {
        String::new()
    } else if let Some(dir) = stem.strip_suffix("/index") {
        format!("{dir}/")
    } else {
        format!("{stem}/")
    }
}

fn file_title(source: &str) -> String {
    let stem = source.strip_suffix(".md").unwrap_or(source);
    let name = stem.rsplit('/').next().unwrap_or(stem);
    let name = if name == "index" { "Home" } else { name };
    let name = name.replace(['-', '_'], " ");
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Nav entries may not leave the docs folder.
fn check_nav(items: &[NavItem]) -> Result<(), BuildError> {
    for item in items {
        match item {
            NavItem::Page { path, .. } => {
                let p = Path::new(path);
                if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
                    return Err(BuildError::UnsafePath(format!(
                        "nav entry {path} points outside the docs folder"
                    )));
                }
            }
            NavItem::Section { children, .. } => check_nav(children)?,
            NavItem::Link { .. } => {}
        }
    }
    Ok(())
}

fn nav_titles(items: &[NavItem]) -> BTreeMap<&str, String> {
    let mut out = BTreeMap::new();
    for item in items {
        match item {
            NavItem::Page { title: Some(title), path } => {
                out.insert(path.trim_start_matches("./"), title.clone());
            }
            NavItem::Section { children, .. } => out.extend(nav_titles(children)),
            _ => {}
        }
    }
    out
}

fn resolve_nav(
    items: &[NavItem],
    pages: &HashMap<&str, &PageReport>,
    warnings: &mut Vec<String>,
) -> Vec<NavEntry> {
    let mut out = Vec::new();
    for item in items {
        match item {
            NavItem::Page { path, .. } => {
                let path = path.trim_start_matches("./");
                match pages.get(path) {
                    Some(page) => out.push(NavEntry {
                        title: page.title.clone(),
                        location: Some(page.location.clone()),
                        url: None,
                        children: Vec::new(),
                    }),
                    None => warnings.push(format!("nav: '{path}' is not a page of the docs folder")),
                }
            }
            NavItem::Link { title, url } => out.push(NavEntry {
                title: title.clone(),
                location: None,
                url: Some(url.clone()),
                children: Vec::new(),
            }),
            NavItem::Section { title, children } => out.push(NavEntry {
                title: title.clone(),
                location: None,
                url: None,
                children: resolve_nav(children, pages, warnings),
            }),
        }
    }
    out
}

/// The navigation of a site without `nav`: per folder, `index.md` first, then the other pages,
/// then sub-folders as sections.
fn tree_nav(pages: &[PageReport]) -> Vec<NavEntry> {
    fn level(pages: &[&PageReport], prefix: &str) -> Vec<NavEntry> {
        let mut here: Vec<&PageReport> = Vec::new();
        let mut folders: BTreeMap<&str, Vec<&PageReport>> = BTreeMap::new();
        for page in pages {
            let rest = &page.source[prefix.len()..];
            match rest.split_once('/') {
                Some((folder, _)) => folders.entry(folder).or_default().push(page),
                None => here.push(page),
            }
        }
        here.sort_by_key(|page| (!page.source.ends_with("index.md"), page.source.clone()));
        let mut out: Vec<NavEntry> = here
            .into_iter()
            .map(|page| NavEntry {
                title: page.title.clone(),
                location: Some(page.location.clone()),
                url: None,
                children: Vec::new(),
            })
            .collect();
        for (folder, pages) in folders {
            out.push(NavEntry {
                title: file_title(folder),
                location: None,
                url: None,
                children: level(&pages, &format!("{prefix}{folder}/")),
            });
        }
        out
    }
    level(&pages.iter().collect::<Vec<_>>(), "")
}

/// Whether a link starts with a URL scheme (`https:`, `mailto:`): such links are never
/// rewritten or followed as files of the site.
pub(crate) fn has_url_scheme(url: &str) -> bool {
    url.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// Rewrites a relative link of page `source` to the built URL of its target, relative to the
/// page's own URL. External links and anchors are left alone; `Err` describes a broken link.
fn resolve_link(
    url: &str,
    source: &str,
    locations: &BTreeMap<String, String>,
    assets: &BTreeSet<String>,
) -> Result<String, String> {
    let has_scheme = has_url_scheme(url);
    if url.is_empty() || url.starts_with('#') || url.starts_with('/') || has_scheme {
        return Ok(url.to_string());
    }
    let (path, fragment) = match url.find(['#', '?']) {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let mut parts: Vec<&str> = source.split('/').collect();
    parts.pop();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("link '{url}' points outside the docs folder"));
                }
            }
            segment => parts.push(segment),
        }
    }
    let target = parts.join("/");
    let index = if target.is_empty() { "index.md".to_string() } else { format!("{target}/index.md") };
    let built = if let Some(location) = locations.get(&target).or_else(|| locations.get(&index)) {
        location
    } else if assets.contains(&target) {
        &target
    } else {
        return Err(format!("broken link '{url}': no page or file {target}"));
    };
    let href = relative(&location_of(source), built);
    let href = if href.is_empty() { "./".to_string() } else { href };
    Ok(format!("{href}{fragment}"))
}

/// `target` (site-relative) as seen from the page URL `from` (site-relative folder).
fn relative(from: &str, target: &str) -> String {
    let from_dirs: Vec<&str> = from.split_terminator('/').collect();
    let mut rest = target;
    let mut common = 0;
    for dir in &from_dirs {
        match rest.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
            Some(r) => {
                rest = r;
                common += 1;
            }
            None => break,
        }
    }
    format!("{}{rest}", "../".repeat(from_dirs.len() - common))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites() -> (BTreeMap<String, String>, BTreeSet<String>) {
        let pages = ["index.md", "a.md", "dir/index.md", "dir/b.md"];
        (
            pages.iter().map(|p| (p.to_string(), location_of(p))).collect(),
            ["img/x.png".to_string()].into_iter().collect(),
        )
    }

    #[test]
    fn locations_follow_directory_urls() {
        assert_eq!(location_of("index.md"), "");
        assert_eq!(location_of("dir/index.md"), "dir/");
        assert_eq!(location_of("dir/b.md"), "dir/b/");
    }

    #[test]
    fn links_are_rewritten_relative_to_the_page_url() {
        let (locations, assets) = sites();
        let link = |url, from| resolve_link(url, from, &locations, &assets);
        assert_eq!(link("a.md", "index.md").unwrap(), "a/");
        assert_eq!(link("../a.md#x", "dir/b.md").unwrap(), "../../a/#x");
        assert_eq!(link("../index.md", "dir/b.md").unwrap(), "../../");
        assert_eq!(link("b.md", "dir/index.md").unwrap(), "b/");
        assert_eq!(link("img/x.png", "a.md").unwrap(), "../img/x.png");
        assert_eq!(link("dir/", "index.md").unwrap(), "dir/");
        assert_eq!(link("index.md", "dir/index.md").unwrap(), "./");
        assert_eq!(link("b.md#s", "dir/b.md").unwrap(), "./#s");
        assert_eq!(link("https://x.org/a.md", "a.md").unwrap(), "https://x.org/a.md");
        assert_eq!(link("#top", "a.md").unwrap(), "#top");
        assert!(link("missing.md", "a.md").unwrap_err().contains("broken link 'missing.md'"));
        assert!(link("../../x.md", "a.md").is_err());
    }

    #[test]
    fn titles_from_file_names() {
        assert_eq!(file_title("dir/getting-started.md"), "Getting started");
        assert_eq!(file_title("index.md"), "Home");
    }
}
