//! Portico's native TechDocs build: a docs-like-code folder (`mkdocs.yml` + Markdown under
//! `docs/`) turned into sanitised HTML fragments, `techdocs_metadata.json` and
//! `search/search_index.json`, laid out like an MkDocs site so Backstage's published-site format
//! is kept — without running Python or MkDocs.
//!
//! The plugin ([`TechDocsPlugin`]) follows the catalog, builds every documented entity's site in
//! the background ([`service`]), serves `/api/techdocs` ([`routes`]) and the reader ([`pages`]).
//!
//! The build's entry point is [`build_site`]. Everything read stays inside the source folder,
//! every page is sanitised with an allow-list, and a single page's cost is bounded (size limit,
//! nesting limit), so a hostile repository can neither read the server's files nor stall a build.

pub mod build;
pub mod config;
pub mod markdown;
pub mod pages;
mod plugin;
pub mod routes;
pub mod service;
pub mod settings;
pub mod source;

pub use build::{
    BuildError, BuildOptions, BuildReport, NavEntry, PageReport, build_site, build_site_with_progress,
};
pub use config::{MkDocsConfig, NavItem};
pub use markdown::TocEntry;
pub use plugin::{TECHDOCS_TYPE, TechDocsPlugin};
