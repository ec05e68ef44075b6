//! Where an entity's docs come from: the `backstage.io/techdocs-ref` annotation resolved against
//! the entity's source location, and the preparation of url sources into a local folder.
//!
//! `dir:<path>` is relative to `backstage.io/source-location` (else
//! `backstage.io/managed-by-location`, the descriptor the entity was read from). For a file
//! location the folder must stay inside the descriptor's folder; for a url location it becomes
//! the url of that folder. `url:<url>` names a folder url directly. Url sources are read through
//! the same allow-listed reader as the catalog: `mkdocs.yml`, then every page the nav lists (or
//! `index.md`), then every relative link and image those pages reference, breadth first, inside
//! `docs_dir` and within a file-count limit.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use portico_reading::{ReadError, Reader};
use pulldown_cmark::{Event, Parser, Tag};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use url::Url;

use crate::build::has_url_scheme;
use crate::config::{MkDocsConfig, NavItem};

/// The annotation that opts an entity into docs.
pub const ANNOTATION_TECHDOCS_REF: &str = "backstage.io/techdocs-ref";
const ANNOTATION_SOURCE_LOCATION: &str = "backstage.io/source-location";
const ANNOTATION_MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";

/// Most files read from a url source.
const MAX_URL_FILES: usize = 2_000;

/// An entity's docs source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocsSource {
    /// A folder on this machine, which must stay inside `base` (the descriptor's folder).
    Dir { path: PathBuf, base: PathBuf },
    /// A folder url, read file by file.
    Url(Url),
}

impl DocsSource {
    /// The `locationMetadata` of `/metadata/entity`: `{type: "dir"|"url", target}`.
    pub fn location_metadata(&self) -> Value {
        match self {
            DocsSource::Dir { path, .. } => json!({ "type": "dir", "target": path.to_string_lossy() }),
            DocsSource::Url(url) => json!({ "type": "url", "target": url.as_str() }),
        }
    }

    /// Shown to people (`/srv/repo/docs-site` or the url).
    pub fn describe(&self) -> String {
        match self {
            DocsSource::Dir { path, .. } => path.display().to_string(),
            DocsSource::Url(url) => url.to_string(),
        }
    }
}

/// Whether the entity opts into docs.
pub fn has_docs(entity: &Value) -> bool {
    annotation(entity, ANNOTATION_TECHDOCS_REF).is_some()
}

fn annotation<'a>(entity: &'a Value, key: &str) -> Option<&'a str> {
    entity.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// Resolves the entity's `backstage.io/techdocs-ref`. Errors use Backstage's messages.
pub fn resolve(entity: &Value) -> Result<DocsSource, String> {
    let name = entity.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let reference = annotation(entity, ANNOTATION_TECHDOCS_REF)
        .ok_or_else(|| format!("No location annotation provided in entity: {name}"))?;
    let (kind, target) = split_reference(reference)?;
    match kind {
        "url" => Url::parse(target)
            .map(|url| DocsSource::Url(folder_url(url)))
            .map_err(|e| format!("Invalid url in {ANNOTATION_TECHDOCS_REF}: {target}: {e}")),
        "dir" => {
            let location = annotation(entity, ANNOTATION_SOURCE_LOCATION)
                .or_else(|| annotation(entity, ANNOTATION_MANAGED_BY_LOCATION))
                .ok_or_else(|| {
                    format!("Entity {name} has {ANNOTATION_TECHDOCS_REF} dir:{target} but no source location")
                })?;
            let (location_kind, location_target) = split_reference(location)?;
            match location_kind {
                "file" => {
                    let location_path = Path::new(location_target);
                    let base = if location_target.ends_with('/') {
                        location_path.to_path_buf()
                    } else {
                        location_path.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
                    };
                    let path = join_inside(&base, target).ok_or_else(|| {
                        format!(
                            "Relative path {target} in {ANNOTATION_TECHDOCS_REF} is not allowed to refer to a directory outside {}",
                            base.display()
                        )
                    })?;
                    Ok(DocsSource::Dir { path, base })
                }
                "url" => {
                    let base = Url::parse(location_target)
                        .map_err(|e| format!("Invalid source location {location_target}: {e}"))?;
                    let relative =
                        if target.ends_with('/') { target.to_owned() } else { format!("{target}/") };
                    portico_reading::join_url(&base, &relative)
                        .map(DocsSource::Url)
                        .map_err(|e| format!("Cannot resolve {target} against {base}: {e}"))
                }
                other => Err(format!("Invalid reference annotation {other}")),
            }
        }
        other => Err(format!("Invalid reference annotation {other}")),
    }
}

fn split_reference(reference: &str) -> Result<(&str, &str), String> {
    match reference.split_once(':') {
        Some((kind, target)) if !kind.is_empty() && !target.is_empty() => Ok((kind, target)),
        _ => Err(format!("Unable to parse location reference '{reference}', expected '<type>:<target>'")),
    }
}

/// A url that names a folder ends with `/`, so that relative names resolve inside it.
fn folder_url(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// `base` joined with `relative`, normalised without touching the disk, if it stays inside
/// `base`. The build checks again after resolving symlinks.
fn join_inside(base: &Path, relative: &str) -> Option<PathBuf> {
    let mut out = base.to_path_buf();
    let mut depth = 0usize;
    for component in Path::new(relative).components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => {
                out.push(part);
                depth += 1;
            }
            Component::ParentDir if depth > 0 => {
                out.pop();
                depth -= 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A local folder checked to lie inside its base once symlinks are resolved.
pub fn checked_dir(path: &Path, base: &Path) -> Result<PathBuf, String> {
    let real =
        path.canonicalize().map_err(|e| format!("The docs folder {} cannot be read: {e}", path.display()))?;
    let real_base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    if !real.starts_with(&real_base) {
        return Err(format!(
            "The docs folder {} resolves outside the location's folder {}",
            path.display(),
            base.display()
        ));
    }
    if !real.is_dir() {
        return Err(format!("The docs folder {} is not a folder", path.display()));
    }
    Ok(real)
}

/// A url source read into memory: relative path → bytes, and a hash of all of it.
#[derive(Debug, Clone, Default)]
pub struct FetchedSite {
    pub files: BTreeMap<String, Vec<u8>>,
    pub fingerprint: String,
    /// Links that could not be read (shown as build warnings).
    pub warnings: Vec<String>,
}

impl FetchedSite {
    /// Writes the files under `dir` (paths were checked when they were collected).
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for (relative, bytes) in &self.files {
            let path = dir.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, bytes)?;
        }
        Ok(())
    }
}

/// Reads a docs site from a folder url: `mkdocs.yml` (or `mkdocs.yaml`), the pages the nav
/// names (else `index.md`), and whatever relative links of those pages point at.
pub async fn fetch_url_site(reader: &Reader, base: &Url) -> Result<FetchedSite, String> {
    let mut site = FetchedSite::default();
    let mut config = None;
    for name in ["mkdocs.yaml", "mkdocs.yml"] {
        let url = portico_reading::join_url(base, name).map_err(|e| e.to_string())?;
        match reader.read_url(&url).await {
            Ok(bytes) => {
                config = Some((name, bytes));
                break;
            }
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    let Some((config_name, config_bytes)) = config else {
        return Err(
            "Could not read MkDocs YAML config file mkdocs.yml or mkdocs.yaml for validation".to_owned()
        );
    };
    let (mkdocs, _) = MkDocsConfig::parse(&String::from_utf8_lossy(&config_bytes))
        .map_err(|e| format!("invalid {config_name}: {e}"))?;
    let docs_dir = normalise(&mkdocs.docs_dir).ok_or_else(|| {
        format!(
            "docs_dir configuration value in mkdocs can't be an absolute directory or start with ../ for security reasons: {}",
            mkdocs.docs_dir
        )
    })?;
    site.files.insert(config_name.to_owned(), config_bytes);
    let docs_base = if docs_dir.is_empty() {
        base.clone()
    } else {
        portico_reading::join_url(base, &format!("{docs_dir}/")).map_err(|e| e.to_string())?
    };

    let mut queue: VecDeque<String> = VecDeque::new();
    let mut seen = BTreeSet::new();
    let mut nav_pages = Vec::new();
    nav_paths(mkdocs.nav.as_deref().unwrap_or_default(), &mut nav_pages);
    if !nav_pages.iter().any(|p| p == "index.md") {
        queue.push_back("index.md".to_owned());
    }
    queue.extend(nav_pages);
    while let Some(relative) = queue.pop_front() {
        if !seen.insert(relative.clone()) {
            continue;
        }
        if seen.len() > MAX_URL_FILES {
            site.warnings.push(format!("more than {MAX_URL_FILES} files are linked; the rest was not read"));
            break;
        }
        let url = portico_reading::join_url(&docs_base, &relative).map_err(|e| e.to_string())?;
        let bytes = match reader.read_url(&url).await {
            Ok(bytes) => bytes,
            Err(ReadError::NotFound(_)) => {
                site.warnings.push(format!("{relative}: not found at {url}"));
                continue;
            }
            Err(error) => {
                site.warnings.push(format!("{relative}: {error}"));
                continue;
            }
        };
        if relative.ends_with(".md") {
            for link in relative_links(&String::from_utf8_lossy(&bytes)) {
                if let Some(target) = resolve_relative(&relative, &link) {
                    queue.push_back(target);
                }
            }
        }
        let path = if docs_dir.is_empty() { relative } else { format!("{docs_dir}/{relative}") };
        site.files.insert(path, bytes);
    }
    let mut hasher = Sha1::new();
    for (path, bytes) in &site.files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(bytes);
    }
    site.fingerprint = hex::encode(hasher.finalize());
    Ok(site)
}

fn nav_paths(items: &[NavItem], out: &mut Vec<String>) {
    for item in items {
        match item {
            NavItem::Page { path, .. } => {
                if let Some(path) = normalise(path.trim_start_matches("./")) {
                    out.push(path);
                }
            }
            NavItem::Section { children, .. } => nav_paths(children, out),
            NavItem::Link { .. } => {}
        }
    }
}

/// Relative link and image targets of a Markdown page (no scheme, not absolute, no fragment).
fn relative_links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    for event in Parser::new(markdown) {
        if let Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) = event {
            let url = dest_url.as_ref();
            let has_scheme = has_url_scheme(url);
            if url.is_empty() || url.starts_with('#') || url.starts_with('/') || has_scheme {
                continue;
            }
            let path = url.split(['#', '?']).next().unwrap_or_default();
            if !path.is_empty() {
                out.push(path.to_owned());
            }
        }
    }
    out
}

/// The docs-relative path a link of page `from` points at, if it stays inside the docs folder.
/// A folder link (`guide/`) means its `index.md`.
fn resolve_relative(from: &str, link: &str) -> Option<String> {
    let folder = from.rsplit_once('/').map_or("", |(dir, _)| dir);
    let joined = if folder.is_empty() { link.to_owned() } else { format!("{folder}/{link}") };
    let path = normalise(&joined)?;
    if link.ends_with('/') || path.is_empty() {
        return Some(if path.is_empty() { "index.md".to_owned() } else { format!("{path}/index.md") });
    }
    Some(path)
}

/// `a/./b/../c` → `a/c`; `None` when it climbs above the root or is absolute.
fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            segment => parts.push(segment),
        }
    }
    if path.starts_with('/') {
        return None;
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(techdocs_ref: &str, location: &str) -> Value {
        json!({
            "kind": "Component",
            "metadata": { "name": "svc", "annotations": {
                "backstage.io/techdocs-ref": techdocs_ref,
                "backstage.io/managed-by-location": location,
            }},
        })
    }

    #[test]
    fn dir_refs_resolve_against_the_descriptor_folder() {
        let source = resolve(&entity("dir:.", "file:/srv/repo/catalog-info.yaml")).unwrap();
        assert_eq!(
            source,
            DocsSource::Dir { path: PathBuf::from("/srv/repo"), base: PathBuf::from("/srv/repo") }
        );
        let source = resolve(&entity("dir:./site", "file:/srv/repo/catalog-info.yaml")).unwrap();
        assert_eq!(source.location_metadata(), json!({"type": "dir", "target": "/srv/repo/site"}));
    }

    #[test]
    fn dir_refs_cannot_leave_the_descriptor_folder() {
        let error = resolve(&entity("dir:../other", "file:/srv/repo/catalog-info.yaml")).unwrap_err();
        assert!(error.contains("not allowed to refer to a directory outside"), "{error}");
        assert!(resolve(&entity("dir:/etc", "file:/srv/repo/catalog-info.yaml")).is_err());
    }

    #[test]
    fn dir_refs_of_url_locations_become_folder_urls() {
        let source = resolve(&entity("dir:.", "url:http://git.example/repo/catalog-info.yaml")).unwrap();
        assert_eq!(source, DocsSource::Url(Url::parse("http://git.example/repo/").unwrap()));
        let source =
            resolve(&entity("dir:docs-site", "url:http://git.example/repo/catalog-info.yaml")).unwrap();
        assert_eq!(source.location_metadata()["target"], "http://git.example/repo/docs-site/");
    }

    #[test]
    fn source_location_wins_over_the_managing_location() {
        let mut e = entity("dir:.", "url:http://git.example/repo/catalog-info.yaml");
        e["metadata"]["annotations"]["backstage.io/source-location"] = json!("url:http://git.example/src/");
        assert_eq!(resolve(&e).unwrap(), DocsSource::Url(Url::parse("http://git.example/src/").unwrap()));
    }

    #[test]
    fn backstages_messages_for_bad_annotations() {
        let none = json!({"kind": "Component", "metadata": {"name": "svc"}});
        assert_eq!(resolve(&none).unwrap_err(), "No location annotation provided in entity: svc");
        let other = resolve(&entity("github:foo", "file:/srv/catalog-info.yaml")).unwrap_err();
        assert_eq!(other, "Invalid reference annotation github");
        let url = resolve(&entity("url:https://git.example/o/r/tree/main", "file:/x.yaml")).unwrap();
        assert_eq!(url, DocsSource::Url(Url::parse("https://git.example/o/r/tree/main/").unwrap()));
    }

    #[test]
    fn links_are_followed_inside_the_docs_folder_only() {
        let links = relative_links("[a](a.md) ![i](img/x.png) [e](https://x.org) [t](#top) [g](guide/)");
        assert_eq!(links, ["a.md", "img/x.png", "guide/"]);
        assert_eq!(resolve_relative("dir/b.md", "../a.md").as_deref(), Some("a.md"));
        assert_eq!(resolve_relative("dir/b.md", "guide/").as_deref(), Some("dir/guide/index.md"));
        assert_eq!(resolve_relative("b.md", "../../etc/passwd"), None);
    }
}
