//! The build: `mkdocs.yml` + `docs/` in, an MkDocs-shaped site of HTML fragments out.
//!
//! Output layout (MkDocs' `use_directory_urls`): `index.md` → `index.html`,
//! `sub-page.md` → `sub-page/index.html`, `a/index.md` → `a/index.html`; other files of the docs
//! folder are copied as they are; `techdocs_metadata.json` and `search/search_index.json` sit at
//! the root, as Backstage's published sites have them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha1::{Digest, Sha1};

use crate::config::{MkDocsConfig, NavItem};
use crate::markdown::{self, TocEntry};

/// Default [`BuildOptions::max_page_bytes`]: 5 MiB.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 5 * 1024 * 1024;

/// Deepest folder nesting walked inside `docs_dir`.
const MAX_FOLDER_DEPTH: usize = 32;

/// How a build runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Pages larger than this are not rendered: they get a placeholder and a warning.
    pub max_page_bytes: u64,
    /// The `etag` written to the metadata (e.g. a commit SHA); default: a hash of the sources.
    pub etag: Option<String>,
    /// Reuse pages of a previous build in the output folder whose inputs did not change.
    pub incremental: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { max_page_bytes: DEFAULT_MAX_PAGE_BYTES, etag: None, incremental: true }
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

/// What a previous build in the output folder left: pages that can be reused when unchanged.
#[derive(Debug, Default)]
struct Previous {
    pages: BTreeMap<String, PageReport>,
    texts: BTreeMap<String, String>,
}

impl Previous {
    /// Reads the previous metadata and search index; anything unreadable means "nothing reusable".
    fn load(output_dir: &Path) -> Previous {
        let read = |rel: &str| -> Option<serde_json::Value> {
            serde_json::from_slice(&fs::read(output_dir.join(rel)).ok()?).ok()
        };
        let pages: Vec<PageReport> = read("techdocs_metadata.json")
            .and_then(|metadata| serde_json::from_value(metadata.get("pages")?.clone()).ok())
            .unwrap_or_default();
        let texts = read("search/search_index.json")
            .and_then(|index| {
                let docs = index.get("docs")?.as_array()?.clone();
                Some(
                    docs.iter()
                        .filter_map(|doc| {
                            Some((
                                doc.get("location")?.as_str()?.to_string(),
                                doc.get("text")?.as_str()?.to_string(),
                            ))
                        })
                        .collect(),
                )
            })
            .unwrap_or_default();
        Previous { pages: pages.into_iter().map(|page| (page.source.clone(), page)).collect(), texts }
    }

    /// The previous page and its search text, when its hash matches and its fragment exists.
    fn reusable(
        &self,
        source: &str,
        hash: &str,
        output_dir: &Path,
        file: &str,
    ) -> Option<(PageReport, String)> {
        let page = self.pages.get(source).filter(|page| !page.hash.is_empty() && page.hash == hash)?;
        let text = self.texts.get(&page.location)?;
        output_dir.join(file).is_file().then(|| (page.clone(), text.clone()))
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
pub fn build_site_with_progress(
    source_dir: &Path,
    output_dir: &Path,
    options: &BuildOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let root = source_dir.canonicalize().map_err(io(source_dir))?;
    let config_text = ["mkdocs.yaml", "mkdocs.yml"]
        .iter()
        .map(|name| root.join(name))
        .find_map(|path| {
            let inside = path.canonicalize().is_ok_and(|real| real.starts_with(&root));
            let text = fs::read_to_string(&path).ok().filter(|_| inside)?;
            Some(text)
        })
        .ok_or(BuildError::MissingConfig)?;
    let (config, mut warnings) = MkDocsConfig::parse(&config_text).map_err(BuildError::InvalidConfig)?;

    let docs_dir = Path::new(&config.docs_dir);
    if docs_dir.is_absolute() || docs_dir.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(BuildError::UnsafePath(format!(
            "docs_dir configuration value in mkdocs can't be an absolute directory or start with ../ for security reasons: {}",
            config.docs_dir
        )));
    }
    let docs_root = root.join(docs_dir).canonicalize().map_err(io(&root.join(docs_dir)))?;
    if !docs_root.starts_with(&root) {
        return Err(BuildError::UnsafePath(format!(
            "docs_dir {} resolves outside the source folder",
            config.docs_dir
        )));
    }

    let mut files = Vec::new();
    walk(&root, &docs_root, "", 0, &mut files, &mut warnings)?;
    let (page_paths, assets): (BTreeSet<String>, BTreeSet<String>) =
        files.into_iter().partition(|path| path.ends_with(".md"));
    let locations: BTreeMap<String, String> =
        page_paths.iter().map(|p| (p.clone(), location_of(p))).collect();

    if let Some(nav) = &config.nav {
        check_nav(nav)?;
    }
    let nav_titles = nav_titles(config.nav.as_deref().unwrap_or_default());

    // What every page's output depends on besides its own text: the configuration and which
    // pages and files exist (links are resolved against them).
    let mut site_hasher = Sha1::new();
    site_hasher.update(config_text.as_bytes());
    site_hasher.update(options.max_page_bytes.to_le_bytes());
    for path in page_paths.iter().chain(&assets) {
        site_hasher.update(path.as_bytes());
        site_hasher.update([0]);
    }
    let previous = if options.incremental { Previous::load(output_dir) } else { Previous::default() };
    let mut hasher = site_hasher.clone();
    let mut pages = Vec::new();
    let mut search_docs = Vec::new();
    let mut written = Vec::new();
    let (mut rendered_count, mut reused) = (0, 0);
    fs::create_dir_all(output_dir).map_err(io(output_dir))?;
    let total = page_paths.len();
    for (done, source) in page_paths.iter().enumerate() {
        let path = docs_root.join(source);
        let location = location_of(source);
        let file = format!("{location}index.html");
        let size = fs::metadata(&path).map_err(io(&path))?.len();
        let mut page_warnings = Vec::new();
        let (page, text) = if size > options.max_page_bytes {
            page_warnings.push(format!(
                "{source}: the page is {size} bytes, more than the limit of {} bytes; it was not rendered",
                options.max_page_bytes
            ));
            let html = format!(
                "<div class=\"admonition warning\">\n<p class=\"admonition-title\">Page too large</p>\n<p>{} is too large to be shown.</p>\n</div>\n",
                markdown::escape(source)
            );
            write(output_dir, &file, html.as_bytes())?;
            rendered_count += 1;
            let title = nav_titles.get(source.as_str()).cloned().unwrap_or_else(|| file_title(source));
            let page = PageReport {
                edit_url: config.edit_url(source),
                source: source.clone(),
                location: location.clone(),
                title,
                toc: Vec::new(),
                hash: String::new(),
                warnings: page_warnings,
            };
            (page, String::new())
        } else {
            let bytes = fs::read(&path).map_err(io(&path))?;
            hasher.update(source.as_bytes());
            hasher.update(&bytes);
            let mut page_hasher = site_hasher.clone();
            page_hasher.update(&bytes);
            let hash = hex::encode(page_hasher.finalize());
            match previous.reusable(source, &hash, output_dir, &file) {
                Some((page, text)) => {
                    reused += 1;
                    (page, text)
                }
                None => {
                    let markdown_text = String::from_utf8_lossy(&bytes);
                    let mut rewrite = |url: &str| match resolve_link(url, source, &locations, &assets) {
                        Ok(href) => href,
                        Err(problem) => {
                            page_warnings.push(format!("{source}: {problem}"));
                            url.to_string()
                        }
                    };
                    let rendered = markdown::render(&markdown_text, &mut rewrite);
                    if rendered.raw_html_escaped {
                        page_warnings.push(format!(
                            "{source}: too much or too deeply nested raw HTML; the rest is shown as text"
                        ));
                    }
                    write(output_dir, &file, rendered.html.as_bytes())?;
                    rendered_count += 1;
                    let title = nav_titles
                        .get(source.as_str())
                        .cloned()
                        .or(rendered.title)
                        .unwrap_or_else(|| file_title(source));
                    let page = PageReport {
                        edit_url: config.edit_url(source),
                        source: source.clone(),
                        location: location.clone(),
                        title,
                        toc: rendered.toc,
                        hash,
                        warnings: page_warnings,
                    };
                    (page, rendered.text)
                }
            }
        };
        warnings.extend(page.warnings.iter().cloned());
        written.push(file);
        search_docs.push(json!({ "location": location, "title": page.title, "text": text }));
        pages.push(page);
        progress(done + 1, total);
    }

    for asset in &assets {
        let bytes = fs::read(docs_root.join(asset)).map_err(io(&docs_root.join(asset)))?;
        hasher.update(asset.as_bytes());
        hasher.update(&bytes);
        write(output_dir, asset, &bytes)?;
        written.push(asset.clone());
    }

    let nav = match &config.nav {
        Some(items) => resolve_nav(items, &pages, &mut warnings),
        None => tree_nav(&pages),
    };

    let search = json!({
        "config": { "lang": ["en"], "separator": "[\\s\\-]+", "pipeline": ["stopWordFilter"] },
        "docs": search_docs,
    });
    let search_file = "search/search_index.json";
    write(output_dir, search_file, search.to_string().as_bytes())?;
    written.push(search_file.to_string());

    let build_timestamp =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default();
    let etag = options.etag.clone().unwrap_or_else(|| hex::encode(hasher.finalize()));
    let metadata = json!({
        "site_name": config.site_name,
        "site_description": config.site_description.clone().unwrap_or_default(),
        "etag": etag,
        "build_timestamp": build_timestamp,
        "files": written,
        "nav": nav,
        "pages": pages,
    });
    let metadata_text = serde_json::to_string_pretty(&metadata).unwrap_or_default();
    write(output_dir, "techdocs_metadata.json", metadata_text.as_bytes())?;
    Ok(BuildReport {
        site_name: config.site_name,
        pages,
        nav,
        warnings,
        rendered: rendered_count,
        reused,
        took: started.elapsed(),
    })
}

/// Collects the files under `dir` as `/`-separated paths relative to the docs root. Hidden
/// files are skipped (as MkDocs does); so are symlinks leading outside `root`.
fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<String>,
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
        let meta = fs::symlink_metadata(&path).map_err(io(&path))?;
        if meta.file_type().is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(root) && target.is_file() => out.push(rel),
                Ok(target) if target.starts_with(root) => {
                    // Linked folders are not followed: they could form cycles.
                    warnings.push(format!("{rel}: symlinked folder skipped"));
                }
                _ => warnings.push(format!("{rel}: symlink pointing outside the source folder skipped")),
            }
        } else if meta.is_dir() {
            walk(root, &path, &format!("{rel}/"), depth + 1, out, warnings)?;
        } else if meta.is_file() {
            out.push(rel);
        }
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

/// Writes `rel` (a `/`-separated path already checked to stay inside) under `output`.
fn write(output: &Path, rel: &str, bytes: &[u8]) -> Result<(), BuildError> {
    let path = output.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    fs::write(&path, bytes).map_err(io(&path))
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

fn resolve_nav(items: &[NavItem], pages: &[PageReport], warnings: &mut Vec<String>) -> Vec<NavEntry> {
    let mut out = Vec::new();
    for item in items {
        match item {
            NavItem::Page { path, .. } => {
                let path = path.trim_start_matches("./");
                match pages.iter().find(|page| page.source == path) {
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

/// Rewrites a relative link of page `source` to the built URL of its target, relative to the
/// page's own URL. External links and anchors are left alone; `Err` describes a broken link.
fn resolve_link(
    url: &str,
    source: &str,
    locations: &BTreeMap<String, String>,
    assets: &BTreeSet<String>,
) -> Result<String, String> {
    let has_scheme = url.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
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
