//! The `catalog.*` configuration keys (plus `backend.reading.allow` and
//! `backend.reading.localGit`, parsed by `portico-reading`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use portico_config::{Config, ConfigError};
use portico_reading::{ReadLimits, ReadingAllow};
use serde_json::Value;

/// What happens to entities no parent emits any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanStrategy {
    /// Keep them, marked `backstage.io/orphan: "true"`.
    Keep,
    /// Delete them (Backstage's default since catalog-backend 3.0).
    Delete,
}

/// A location from `catalog.locations`.
#[derive(Debug, Clone)]
pub struct ConfigLocation {
    /// `file` or `url`.
    pub kind: String,
    /// For `file`, an absolute path (relative targets are resolved against the config file's
    /// folder); for `url`, the URL.
    pub target: String,
    /// Extra rules that apply to everything originating from this location.
    pub rules: Vec<CatalogRule>,
}

/// One `catalog.rules` entry.
#[derive(Debug, Clone, Default)]
pub struct CatalogRule {
    /// Allowed kinds, compared case-insensitively.
    pub allow: Vec<String>,
    /// When set, the rule applies only to origins matching one of these.
    pub locations: Option<Vec<RuleLocation>>,
}

/// A location matcher of a rule.
#[derive(Debug, Clone)]
pub struct RuleLocation {
    pub kind: String,
    pub exact: Option<String>,
    pub pattern: Option<globset::GlobMatcher>,
}

/// Everything the catalog reads from configuration.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    pub locations: Vec<ConfigLocation>,
    pub rules: Vec<CatalogRule>,
    /// `None` disables periodic refresh (`catalog.processingInterval: false`).
    pub processing_interval: Option<(Duration, Duration)>,
    pub orphan_strategy: OrphanStrategy,
    pub readonly: bool,
    pub relations_compatibility: bool,
    /// `backend.reading.allow`: the hosts url locations and placeholders may be read from.
    pub reading_allow: Vec<ReadingAllow>,
    /// `backend.reading.localGit`: the folders whose git repositories `file:` url locations
    /// (`file:///srv/git/svc.git/catalog-info.yaml?ref=main`) may be read from.
    pub local_git: Vec<PathBuf>,
    /// Largest descriptor or placeholder file read, in bytes.
    pub max_read_bytes: u64,
    /// How long a url read may take.
    pub read_timeout: Duration,
    /// Watch file locations and re-process them within seconds of a change.
    pub watch_files: bool,
    /// Location types `POST /locations` accepts (Backstage: `url` only).
    pub allowed_location_types: Vec<String>,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            locations: Vec::new(),
            rules: default_rules(),
            processing_interval: Some((Duration::from_secs(100), Duration::from_secs(150))),
            orphan_strategy: OrphanStrategy::Delete,
            readonly: false,
            relations_compatibility: true,
            reading_allow: Vec::new(),
            local_git: Vec::new(),
            max_read_bytes: 16 * 1024 * 1024,
            read_timeout: Duration::from_secs(30),
            watch_files: true,
            allowed_location_types: vec!["url".into()],
        }
    }
}

/// Backstage's default when `catalog.rules` is absent.
fn default_rules() -> Vec<CatalogRule> {
    vec![CatalogRule { allow: vec!["Component".into(), "API".into(), "Location".into()], locations: None }]
}

impl CatalogConfig {
    /// The limits of every descriptor and placeholder read (`catalog.limits.*`).
    pub fn read_limits(&self) -> ReadLimits {
        ReadLimits { max_bytes: self.max_read_bytes, timeout: self.read_timeout }
    }

    pub fn from_config(config: &Config) -> Result<CatalogConfig, ConfigError> {
        let mut out = CatalogConfig::default();
        let base_dir = config.origin_dir("catalog.locations").map(Path::to_path_buf);
        if let Some(locations) = config.array("catalog.locations")? {
            for (i, value) in locations.iter().enumerate() {
                out.locations.push(parse_location(
                    value,
                    &format!("catalog.locations[{i}]"),
                    base_dir.as_deref(),
                )?);
            }
        }
        if let Some(rules) = config.array("catalog.rules")? {
            out.rules = rules
                .iter()
                .enumerate()
                .map(|(i, rule)| parse_rule(rule, &format!("catalog.rules[{i}]")))
                .collect::<Result<_, _>>()?;
        }
        match config.get("catalog.processingInterval") {
            None => {}
            Some(Value::Bool(false)) => out.processing_interval = None,
            Some(_) => {
                if let Some(interval) = config.duration("catalog.processingInterval")? {
                    out.processing_interval = Some((interval, interval));
                }
            }
        }
        if let Some(strategy) = config.string("catalog.orphanStrategy")? {
            out.orphan_strategy = match strategy.as_str() {
                "keep" => OrphanStrategy::Keep,
                "delete" => OrphanStrategy::Delete,
                other => {
                    return Err(ConfigError::Invalid {
                        key: "catalog.orphanStrategy".into(),
                        message: format!("must be 'keep' or 'delete', got '{other}'"),
                    });
                }
            };
        }
        out.readonly = config.bool("catalog.readonly")?.unwrap_or(false);
        out.relations_compatibility = !config.bool("catalog.disableRelationsCompatibility")?.unwrap_or(false);
        out.reading_allow = portico_reading::reading_allow(config)?;
        out.local_git = portico_reading::local_git_roots(config)?;
        if let Some(bytes) = config.u64("catalog.limits.maxReadBytes")? {
            out.max_read_bytes = bytes;
        }
        if let Some(timeout) = config.duration("catalog.limits.readTimeout")? {
            out.read_timeout = timeout;
        }
        if let Some(types) = config.string_list("catalog.allowedLocationTypes")? {
            out.allowed_location_types = types;
        }
        if let Some(watch) = config.bool("catalog.watchFiles")? {
            out.watch_files = watch;
        }
        Ok(out)
    }
}

fn parse_location(value: &Value, key: &str, base_dir: Option<&Path>) -> Result<ConfigLocation, ConfigError> {
    let field = |name: &str| -> Result<String, ConfigError> {
        value.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| ConfigError::Invalid {
            key: format!("{key}.{name}"),
            message: "must be a string".into(),
        })
    };
    let kind = field("type")?;
    let mut target = field("target")?;
    if kind == "file" {
        let path = PathBuf::from(&target);
        if path.is_relative() {
            let joined = base_dir.map(|dir| dir.join(&path)).unwrap_or(path);
            target = normalize_path(&joined).to_string_lossy().into_owned();
        }
    }
    let rules = match value.get("rules") {
        None => Vec::new(),
        Some(Value::Array(rules)) => rules
            .iter()
            .enumerate()
            .map(|(i, rule)| parse_rule(rule, &format!("{key}.rules[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ConfigError::Invalid {
                key: format!("{key}.rules"),
                message: "must be a list".into(),
            });
        }
    };
    Ok(ConfigLocation { kind, target, rules })
}

fn parse_rule(value: &Value, key: &str) -> Result<CatalogRule, ConfigError> {
    let invalid = |message: &str| ConfigError::Invalid { key: key.to_owned(), message: message.to_owned() };
    let allow = value
        .get("allow")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("needs 'allow', a list of entity kinds"))?
        .iter()
        .map(|kind| kind.as_str().map(str::to_owned).ok_or_else(|| invalid("'allow' must list kind names")))
        .collect::<Result<Vec<_>, _>>()?;
    let locations = match value.get("locations") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| {
                    let kind = item
                        .get("type")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid("each of 'locations' needs a 'type'"))?
                        .to_owned();
                    let exact = item.get("exact").and_then(Value::as_str).map(str::to_owned);
                    let pattern = match item.get("pattern").and_then(Value::as_str) {
                        Some(glob) => Some(
                            globset::Glob::new(glob)
                                .map_err(|e| invalid(&format!("bad pattern '{glob}': {e}")))?
                                .compile_matcher(),
                        ),
                        None => None,
                    };
                    Ok(RuleLocation { kind, exact, pattern })
                })
                .collect::<Result<_, ConfigError>>()?,
        ),
        Some(_) => return Err(invalid("'locations' must be a list")),
    };
    Ok(CatalogRule { allow, locations })
}

/// Lexically removes `.` and `..` components (the file may not exist yet).
pub fn normalize_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl CatalogRule {
    /// Whether this rule allows `kind` for an entity originating at `origin` (`type`, `target`).
    pub fn allows(&self, kind: &str, origin: Option<(&str, &str)>) -> bool {
        if !self.allow.iter().any(|allowed| allowed.eq_ignore_ascii_case(kind)) {
            return false;
        }
        match (&self.locations, origin) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(matchers), Some((origin_kind, origin_target))) => matchers.iter().any(|m| {
                m.kind == origin_kind
                    && match (&m.exact, &m.pattern) {
                        (Some(exact), _) => exact == origin_target,
                        (None, Some(pattern)) => pattern.is_match(origin_target),
                        (None, None) => true,
                    }
            }),
        }
    }
}
