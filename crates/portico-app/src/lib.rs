//! Composition root: opens the stores, starts the plugins in list order, assembles one router
//! (`/api/<plugin>` per plugin, `/healthz`, `/readyz`), runs the background loops, and shuts
//! everything down gracefully.

pub mod audit;
mod auth_catalog;
mod catalog_client;
mod permission;
mod plugins;
mod search_permission;
mod server;
mod stores;

pub use plugins::default_plugins;
pub use server::{App, AppError, Portico};
pub use stores::{migrate, open_stores};
