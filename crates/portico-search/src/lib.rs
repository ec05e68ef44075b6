//! Portico's search: one box over the catalog and whatever other plugins contribute.
//!
//! * [`api`]: the extension points — [`api::SearchCollator`] (one document type, a snapshot and
//!   a change feed), [`api::PushCollator`] for plugins that push documents, and
//!   [`api::ReadPermission`] (which catalog entities a caller may read).
//! * [`catalog`]: the `software-catalog` collator, following the catalog store's change feed.
//! * [`index`] and [`writer`]: the embedded tantivy index, generations on disk, and the one
//!   writer ([`Indexer`]) that applies changes and commits.
//! * [`engine`]: queries built from tokens (exact, prefix, one-edit fuzzy; exact name first,
//!   title above text), filters and types inside the query, highlights, Backstage's cursors;
//!   `readable`: read permission applied while matches are collected.
//! * [`service`], `routes`, `pages`: request validation with Backstage's messages,
//!   `GET /api/search/query`, the `/search` page and the shell's suggestions.

pub mod api;
pub mod catalog;
pub mod config;
pub mod engine;
pub mod index;
mod pages;
mod plugin;
mod qs;
mod readable;
mod routes;
pub mod service;
pub mod writer;

pub use config::SearchConfig;
pub use index::{IndexLocation, SearchError, SearchIndex};
pub use pages::highlight_html;
pub use plugin::SearchPlugin;
pub use service::SearchService;
pub use writer::Indexer;
