//! The software catalog plugin: ingestion from locations into the store (`engine`), the
//! in-memory read index fed by the store's change feed (`index`), and the `/api/catalog`
//! routes (`api`).

mod access;
pub mod api;
pub mod config;
pub mod engine;
pub mod index;
pub mod pages;
mod plugin;

pub use plugin::CatalogPlugin;
