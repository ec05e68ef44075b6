//! `mkdocs.yml`: the keys the build understands.

use portico_model::yaml::{YamlLimits, parse_documents};
use serde_json::Value;

/// Plugins whose effect the native build provides (or which need nothing from it).
const KNOWN_PLUGINS: &[&str] = &["techdocs-core", "search"];

/// Markdown extensions the native build implements (tables, fences, admonitions, …).
const KNOWN_EXTENSIONS: &[&str] = &[
    "admonition",
    "attr_list",
    "def_list",
    "fenced_code",
    "footnotes",
    "md_in_html",
    "tables",
    "toc",
    "pymdownx.details",
    "pymdownx.superfences",
    "pymdownx.tasklist",
    "pymdownx.tilde",
];

/// The parts of `mkdocs.yml` the build uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkDocsConfig {
    /// `site_name` (required by MkDocs; empty when missing).
    pub site_name: String,
    /// `site_description`, if any.
    pub site_description: Option<String>,
    /// `docs_dir`, default `docs`. Checked to stay inside the source folder by the build.
    pub docs_dir: String,
    /// `repo_url`, if any.
    pub repo_url: Option<String>,
    /// `edit_uri`, if any.
    pub edit_uri: Option<String>,
    /// `nav`, when given; `None` means "built from the folder tree".
    pub nav: Option<Vec<NavItem>>,
    /// Names from `plugins`.
    pub plugins: Vec<String>,
    /// Names from `markdown_extensions`.
    pub markdown_extensions: Vec<String>,
}

/// One entry of the navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NavItem {
    /// A Markdown page, by its path relative to `docs_dir`.
    Page {
        /// The title given in `nav`, if any (else the page's first heading).
        title: Option<String>,
        /// Path relative to `docs_dir`, `/`-separated.
        path: String,
    },
    /// An external link.
    Link {
        /// Shown text.
        title: String,
        /// Absolute URL.
        url: String,
    },
    /// A titled group of entries.
    Section {
        /// Shown text.
        title: String,
        /// The entries of the group.
        children: Vec<NavItem>,
    },
}

impl MkDocsConfig {
    /// Parses the text of `mkdocs.yml`. Unknown keys, plugins and extensions are accepted; the
    /// names of unknown plugins and extensions are returned as warnings.
    pub fn parse(text: &str) -> Result<(MkDocsConfig, Vec<String>), String> {
        let mut documents = parse_documents(text, &YamlLimits::default());
        let value = match documents.len() {
            0 => Value::Object(Default::default()),
            _ => documents.remove(0).map_err(|e| e.message)?.value,
        };
        let Value::Object(map) = value else {
            return Err("mkdocs.yml must be a mapping".to_string());
        };
        let string = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
        let mut warnings = Vec::new();
        let nav = match map.get("nav") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(parse_nav(items)?),
            Some(_) => return Err("nav must be a list".to_string()),
        };
        let plugins = names(map.get("plugins"));
        for plugin in &plugins {
            if !KNOWN_PLUGINS.contains(&plugin.as_str()) {
                warnings.push(format!("mkdocs.yml: plugin '{plugin}' is not supported and was ignored"));
            }
        }
        let markdown_extensions = names(map.get("markdown_extensions"));
        for extension in &markdown_extensions {
            if !KNOWN_EXTENSIONS.contains(&extension.as_str()) {
                warnings.push(format!(
                    "mkdocs.yml: markdown extension '{extension}' is not supported and was ignored"
                ));
            }
        }
        let config = MkDocsConfig {
            site_name: string("site_name").unwrap_or_default(),
            site_description: string("site_description"),
            docs_dir: string("docs_dir").unwrap_or_else(|| "docs".to_string()),
            repo_url: string("repo_url"),
            edit_uri: string("edit_uri"),
            nav,
            plugins,
            markdown_extensions,
        };
        Ok((config, warnings))
    }

    /// The edit link of a page (`path` relative to `docs_dir`), from `repo_url` and `edit_uri`.
    /// Like MkDocs, GitHub and GitLab repositories get a default `edit_uri`.
    pub fn edit_url(&self, path: &str) -> Option<String> {
        let repo = self.repo_url.as_deref().map(|r| r.trim_end_matches('/'));
        let edit_uri = match (&self.edit_uri, repo) {
            (Some(uri), _) => uri.clone(),
            (None, Some(repo)) if repo.contains("github.com") || repo.contains("gitlab.com") => {
                format!("edit/master/{}/", self.docs_dir.trim_matches('/'))
            }
            _ => return None,
        };
        if edit_uri.is_empty() {
            return None;
        }
        let base = if edit_uri.contains("://") {
            edit_uri.trim_end_matches('/').to_string()
        } else {
            format!("{}/{}", repo?, edit_uri.trim_matches('/'))
        };
        Some(format!("{base}/{path}"))
    }
}

/// Names from a `plugins`/`markdown_extensions` list: strings, or one-key mappings
/// (`- toc: {permalink: true}`).
fn names(value: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(items)) = value else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(name) => Some(name.clone()),
            Value::Object(map) => map.keys().next().cloned(),
            _ => None,
        })
        .collect()
}

fn parse_nav(items: &[Value]) -> Result<Vec<NavItem>, String> {
    items.iter().map(parse_nav_item).collect()
}

fn parse_nav_item(item: &Value) -> Result<NavItem, String> {
    match item {
        Value::String(path) => Ok(NavItem::Page { title: None, path: path.clone() }),
        Value::Object(map) if map.len() == 1 => {
            let (title, target) = map.iter().next().ok_or("empty nav entry")?;
            match target {
                Value::String(target) if target.contains("://") || target.starts_with("mailto:") => {
                    Ok(NavItem::Link { title: title.clone(), url: target.clone() })
                }
                Value::String(path) => Ok(NavItem::Page { title: Some(title.clone()), path: path.clone() }),
                Value::Array(children) => {
                    Ok(NavItem::Section { title: title.clone(), children: parse_nav(children)? })
                }
                other => Err(format!("nav entry '{title}' has an unsupported value: {other}")),
            }
        }
        other => Err(format!("unsupported nav entry: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_nav_defaults_and_warns_on_unknown_plugins() {
        let text = "site_name: Demo\nnav:\n  - index.md\n  - Guide:\n      - Intro: guide/intro.md\n      - Site: https://example.com\nplugins:\n  - techdocs-core\n  - mermaid2:\n      arg: 1\nmarkdown_extensions:\n  - toc:\n      permalink: true\n  - weird.ext\n";
        let (config, warnings) = MkDocsConfig::parse(text).unwrap();
        assert_eq!(config.site_name, "Demo");
        assert_eq!(config.docs_dir, "docs");
        let nav = config.nav.unwrap();
        assert_eq!(nav[0], NavItem::Page { title: None, path: "index.md".into() });
        let NavItem::Section { title, children } = &nav[1] else { panic!("{nav:?}") };
        assert_eq!(title, "Guide");
        assert_eq!(children[0], NavItem::Page { title: Some("Intro".into()), path: "guide/intro.md".into() });
        assert_eq!(children[1], NavItem::Link { title: "Site".into(), url: "https://example.com".into() });
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("mermaid2") && warnings[1].contains("weird.ext"));
    }

    #[test]
    fn edit_urls_join_repo_and_edit_uri() {
        let (config, _) = MkDocsConfig::parse(
            "site_name: x\nrepo_url: https://github.com/o/r/\nedit_uri: edit/main/docs\n",
        )
        .unwrap();
        assert_eq!(config.edit_url("a/b.md").unwrap(), "https://github.com/o/r/edit/main/docs/a/b.md");
        let (config, _) = MkDocsConfig::parse("site_name: x\nrepo_url: https://github.com/o/r\n").unwrap();
        assert_eq!(config.edit_url("i.md").unwrap(), "https://github.com/o/r/edit/master/docs/i.md");
        let (config, _) = MkDocsConfig::parse("site_name: x\n").unwrap();
        assert_eq!(config.edit_url("i.md"), None);
    }

    #[test]
    fn rejects_a_non_mapping_root() {
        assert!(MkDocsConfig::parse("- a\n- b\n").is_err());
    }
}
