//! The `techdocs.*` settings the portal reads.

use std::path::PathBuf;
use std::time::Duration;

use portico_config::backend::{BackendConfig, DatabaseConfig, SqlitePath};
use portico_config::{Config, ConfigError};

/// Backstage's default `search.collators.techdocs.locationTemplate`.
pub const DEFAULT_SEARCH_LOCATION_TEMPLATE: &str = "/docs/:namespace/:kind/:name/:path";

/// Who builds the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// The portal builds them in the background (`techdocs.builder: local`, the default).
    Local,
    /// Something else (CI) publishes them; the portal only serves (`techdocs.builder: external`).
    External,
}

/// Where published sites live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishRoot {
    /// A folder on disk.
    Dir(PathBuf),
    /// A temporary folder removed when the process ends (for an in-memory database, whose
    /// catalog is gone at exit too).
    Temporary,
}

/// TechDocs settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TechDocsSettings {
    /// `techdocs.builder`.
    pub builder: Builder,
    /// `techdocs.publisher.local.publishDirectory`, else `<backend.workingDirectory>/techdocs`,
    /// else `./data/techdocs` beside the config; temporary for an in-memory database.
    pub publish_root: PublishRoot,
    /// `techdocs.legacyUseCaseSensitiveTripletPaths`: keep the case of namespace/kind/name in
    /// published paths instead of lower-casing them.
    pub case_sensitive_triplets: bool,
    /// How often every documented entity is checked for changed sources (Backstage: at most
    /// once per 60 s per entity).
    pub check_interval: Duration,
    /// How many sites build at the same time (Backstage: 10 per process).
    pub max_concurrent_builds: usize,
    /// `search.collators.techdocs.locationTemplate`.
    pub search_location_template: String,
    /// `techdocs.liveReload` (Portico): reader pages reload themselves when a new version is
    /// published (`portico docs serve` turns it on).
    pub live_reload: bool,
}

impl Default for TechDocsSettings {
    fn default() -> Self {
        TechDocsSettings {
            builder: Builder::Local,
            publish_root: PublishRoot::Temporary,
            case_sensitive_triplets: false,
            check_interval: Duration::from_secs(60),
            max_concurrent_builds: 4,
            search_location_template: DEFAULT_SEARCH_LOCATION_TEMPLATE.to_owned(),
            live_reload: false,
        }
    }
}

impl TechDocsSettings {
    /// Reads the settings; a wrong type or an unsupported publisher names the key.
    pub fn from_config(config: &Config) -> Result<TechDocsSettings, ConfigError> {
        let mut settings = TechDocsSettings::default();
        if let Some(builder) = config.string("techdocs.builder")? {
            settings.builder = match builder.as_str() {
                "local" => Builder::Local,
                "external" => Builder::External,
                other => {
                    return Err(ConfigError::Invalid {
                        key: "techdocs.builder".into(),
                        message: format!("must be 'local' or 'external', got '{other}'"),
                    });
                }
            };
        }
        if let Some(publisher) = config.string("techdocs.publisher.type")?
            && publisher != "local"
        {
            return Err(ConfigError::Invalid {
                key: "techdocs.publisher.type".into(),
                message: format!(
                    "'{publisher}' is not supported; Portico publishes to a local folder ('local')"
                ),
            });
        }
        settings.publish_root = publish_root(config)?;
        settings.case_sensitive_triplets =
            config.bool("techdocs.legacyUseCaseSensitiveTripletPaths")?.unwrap_or(false);
        if let Some(interval) = config.duration("techdocs.checkInterval")? {
            settings.check_interval = interval;
        }
        let parallelism = std::thread::available_parallelism().map_or(2, usize::from);
        settings.max_concurrent_builds = config
            .u64("techdocs.maxConcurrentBuilds")?
            .map_or(parallelism.clamp(1, 10), |n| (n as usize).max(1));
        if let Some(template) = config.string("search.collators.techdocs.locationTemplate")? {
            settings.search_location_template = template;
        }
        settings.live_reload = config.bool("techdocs.liveReload")?.unwrap_or(false);
        Ok(settings)
    }
}

fn relative_to(config: &Config, key: &str, path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    match config.origin_dir(key) {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    }
}

fn publish_root(config: &Config) -> Result<PublishRoot, ConfigError> {
    let key = "techdocs.publisher.local.publishDirectory";
    if let Some(dir) = config.string(key)? {
        return Ok(PublishRoot::Dir(relative_to(config, key, &dir)));
    }
    if let Some(dir) = config.string("backend.workingDirectory")? {
        return Ok(PublishRoot::Dir(relative_to(config, "backend.workingDirectory", &dir).join("techdocs")));
    }
    let backend = BackendConfig::from_config(config)?;
    Ok(match backend.database {
        DatabaseConfig::Sqlite { path: SqlitePath::Memory } => PublishRoot::Temporary,
        _ => PublishRoot::Dir(relative_to(config, "backend.database", "./data/techdocs")),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn settings(yaml: &str) -> Result<TechDocsSettings, ConfigError> {
        let config = Config::from_yaml_str(yaml, Path::new("/srv/portal"), &|_| None).unwrap();
        TechDocsSettings::from_config(&config)
    }

    #[test]
    fn defaults_publish_beside_the_database() {
        let s =
            settings("backend:\n  database:\n    client: better-sqlite3\n    connection: ./x.db\n").unwrap();
        assert_eq!(s.builder, Builder::Local);
        assert_eq!(s.publish_root, PublishRoot::Dir(PathBuf::from("/srv/portal/./data/techdocs")));
        assert!(!s.case_sensitive_triplets);
    }

    #[test]
    fn explicit_folder_and_external_builder() {
        let s = settings("techdocs:\n  builder: external\n  publisher:\n    type: local\n    local:\n      publishDirectory: site\n").unwrap();
        assert_eq!(s.builder, Builder::External);
        assert_eq!(s.publish_root, PublishRoot::Dir(PathBuf::from("/srv/portal/site")));
    }

    #[test]
    fn unsupported_publishers_and_builders_name_the_key() {
        let error = settings("techdocs:\n  publisher:\n    type: awsS3\n").unwrap_err().to_string();
        assert!(error.contains("techdocs.publisher.type") && error.contains("awsS3"), "{error}");
        let error = settings("techdocs:\n  builder: docker\n").unwrap_err().to_string();
        assert!(error.contains("techdocs.builder"), "{error}");
    }
}
