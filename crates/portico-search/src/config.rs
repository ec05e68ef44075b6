//! The `search.*` settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use portico_config::backend::{BackendConfig, DatabaseConfig, SqlitePath};
use portico_config::{Config, ConfigError};

use crate::catalog::DEFAULT_LOCATION_TEMPLATE;
use crate::index::IndexLocation;

/// Backstage's default `search.maxTermLength`.
pub const DEFAULT_MAX_TERM_LENGTH: usize = 100;
/// Backstage's default `search.maxPageLimit`.
pub const DEFAULT_MAX_PAGE_LIMIT: usize = 100;

/// Search settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    /// `search.maxTermLength`.
    pub max_term_length: usize,
    /// `search.maxPageLimit`.
    pub max_page_limit: usize,
    /// `search.boosts.<type>`: a multiplier of the type's scores (default 1).
    pub boosts: BTreeMap<String, f32>,
    /// `search.collators.catalog.locationTemplate`.
    pub catalog_location_template: String,
    /// `search.indexDir`, else `<backend.workingDirectory>/search`, else `./data/search` beside
    /// the config naming the database; in memory for an in-memory database.
    pub location: IndexLocation,
}

impl SearchConfig {
    pub fn from_config(config: &Config) -> Result<SearchConfig, ConfigError> {
        let boosts = config
            .object("search.boosts")?
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_f64()? as f32)))
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default();
        Ok(SearchConfig {
            max_term_length: config
                .u64("search.maxTermLength")?
                .map_or(DEFAULT_MAX_TERM_LENGTH, |n| n as usize),
            max_page_limit: config.u64("search.maxPageLimit")?.map_or(DEFAULT_MAX_PAGE_LIMIT, |n| n as usize),
            boosts,
            catalog_location_template: config
                .string("search.collators.catalog.locationTemplate")?
                .unwrap_or_else(|| DEFAULT_LOCATION_TEMPLATE.to_owned()),
            location: index_location(config)?,
        })
    }
}

fn relative_to(config: &Config, key: &str, path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    match config.origin_dir(key) {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    }
}

fn index_location(config: &Config) -> Result<IndexLocation, ConfigError> {
    if let Some(dir) = config.string("search.indexDir")? {
        return Ok(IndexLocation::Dir(relative_to(config, "search.indexDir", &dir)));
    }
    if let Some(dir) = config.string("backend.workingDirectory")? {
        return Ok(IndexLocation::Dir(relative_to(config, "backend.workingDirectory", &dir).join("search")));
    }
    let backend = BackendConfig::from_config(config)?;
    Ok(match backend.database {
        DatabaseConfig::Sqlite { path: SqlitePath::Memory } => IndexLocation::Memory,
        _ => IndexLocation::Dir(relative_to(config, "backend.database", "./data/search")),
    })
}
