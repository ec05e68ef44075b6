//! The merged configuration tree and its typed accessors.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ConfigError;
use crate::origin::Origin;
use crate::transform::{EnvFn, Transformer};

/// Prefix of the environment variables that override configuration (`APP_CONFIG_app_baseUrl`).
const ENV_OVERRIDE_PREFIX: &str = "APP_CONFIG_";

/// A merged configuration tree (always an object at the root).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    root: Value,
    origin: Origin,
}

impl Default for Config {
    fn default() -> Self {
        Config::empty()
    }
}

impl Config {
    /// A configuration with no keys.
    pub fn empty() -> Config {
        Config { root: Value::Object(Map::new()), origin: Origin::none() }
    }

    /// Loads and merges `paths` in order, substituting from the process environment, then applies
    /// `APP_CONFIG_*` environment overrides on top.
    pub fn load(paths: &[PathBuf]) -> Result<Config, ConfigError> {
        let mut config = Config::load_with_env(paths, &|name| std::env::var(name).ok())?;
        let overrides = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
        config.apply_env_overrides(overrides)?;
        Ok(config)
    }

    /// Loads and merges `paths` in order (later files win), looking variables up with `env`.
    /// `APP_CONFIG_*` overrides are not applied (see [`Config::apply_env_overrides`]).
    pub fn load_with_env(
        paths: &[PathBuf],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut merged = Config::empty();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Io { path: path.clone(), source })?;
            // Absolute, so that relative paths inside stay valid whatever the working directory.
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let dir = absolute.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            merged.merge(Config::from_source(&text, path, &dir, env)?);
        }
        Ok(merged)
    }

    /// Parses one config document given as text; relative paths in it (includes, files) are
    /// resolved against `origin_dir`. Used by tests and for embedded defaults.
    pub fn from_yaml_str(
        text: &str,
        origin_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::from_source(text, Path::new("<inline config>"), origin_dir, env)
    }

    /// Wraps an already-built JSON object, with no substitution and no directory of origin.
    pub fn from_json(value: Value) -> Result<Config, ConfigError> {
        match value {
            Value::Object(_) => Ok(Config { root: value, origin: Origin::none() }),
            other => Err(ConfigError::WrongType {
                key: "<root>".into(),
                expected: "an object",
                actual: type_name(&other),
            }),
        }
    }

    fn from_source(text: &str, file: &Path, dir: &Path, env: EnvFn<'_>) -> Result<Config, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse { path: file.to_path_buf(), message };
        let raw = crate::parse_yaml_single(text).map_err(parse_error)?;
        if !raw.is_object() {
            return Err(parse_error(format!(
                "expected an object at the config root, got {}",
                type_name(&raw)
            )));
        }
        let dir: Arc<Path> = Arc::from(dir);
        let transformer = Transformer { env, file };
        match transformer.transform(raw, "", &dir, 0)? {
            Some((root @ Value::Object(_), origin)) => Ok(Config { root, origin }),
            Some((other, _)) => {
                Err(parse_error(format!("expected an object at the config root, got {}", type_name(&other))))
            }
            None => Ok(Config { root: Value::Object(Map::new()), origin: Origin::leaf(&dir) }),
        }
    }

    /// Merges `other` over `self`: objects merge recursively, everything else (arrays included)
    /// is replaced by `other`'s value. An explicit `null` in `other` masks `self`'s value.
    pub fn merge(&mut self, other: Config) {
        merge_value(&mut self.root, &mut self.origin, other.root, other.origin);
    }

    /// Applies `APP_CONFIG_*` variables from `vars` (name, value) on top of everything, like
    /// Backstage: `APP_CONFIG_app_baseUrl=x` sets `app.baseUrl`; values are parsed as JSON and
    /// fall back to a plain string (`'"false"'` forces the string `false`); empty values are
    /// ignored. Other variables are ignored.
    pub fn apply_env_overrides(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, value)| name.starts_with(ENV_OVERRIDE_PREFIX) && !value.is_empty())
            .collect();
        vars.sort();
        let mut data = Map::new();
        for (name, raw) in vars {
            let error = |message: String| ConfigError::EnvOverride { name: name.clone(), message };
            let key = &name[ENV_OVERRIDE_PREFIX.len()..];
            let parts: Vec<&str> = key.split('_').collect();
            if let Some(bad) = parts.iter().find(|part| !is_valid_key_part(part)) {
                return Err(error(format!(
                    "'{bad}' is not a valid key part; use APP_CONFIG_<key>_<subkey> with keys made of letters, digits and '-'"
                )));
            }
            let value = serde_json::from_str::<Value>(&raw).unwrap_or(Value::String(raw));
            if value.is_null() {
                return Err(error("the value may not be null".into()));
            }
            let (last, parents) = parts.split_last().unwrap_or((&"", &[]));
            let mut object = &mut data;
            for (index, part) in parents.iter().enumerate() {
                let entry = object.entry(*part).or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(next) = entry else {
                    return Err(error(format!(
                        "could not nest config for key '{key}' under existing value '{}'",
                        parts[..=index].join("_")
                    )));
                };
                object = next;
            }
            if object.contains_key(*last) {
                return Err(error(format!("refusing to override existing config at key '{key}'")));
            }
            object.insert((*last).to_owned(), value);
        }
        if !data.is_empty() {
            self.merge(Config { root: Value::Object(data), origin: Origin::none() });
        }
        Ok(())
    }

    /// The whole tree.
    pub fn as_json(&self) -> &Value {
        &self.root
    }

    /// The value at a dotted key path (`backend.listen.port`); numeric segments index arrays.
    /// `null` counts as absent.
    pub fn get(&self, key_path: &str) -> Option<&Value> {
        let mut node = &self.root;
        for segment in key_path.split('.').filter(|s| !s.is_empty()) {
            node = match node {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        (!node.is_null()).then_some(node)
    }

    /// Whether a non-null value exists at `key_path`.
    pub fn has(&self, key_path: &str) -> bool {
        self.get(key_path).is_some()
    }

    /// Directory of the file that supplied the value at `key_path` (for resolving relative paths
    /// written in it). `None` when the value came from no file (environment overrides, JSON).
    pub fn origin_dir(&self, key_path: &str) -> Option<&Path> {
        self.origin.dir_for(key_path.split('.').filter(|s| !s.is_empty()))
    }

    /// A string value.
    pub fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.typed(key, "a string", |v| v.as_str().map(str::to_owned))
    }

    /// A boolean; the strings `"true"` and `"false"` are accepted too, since `${VAR}`
    /// substitution always yields strings.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.typed(key, "a boolean", |v| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => None,
        })
    }

    /// A number; numeric strings are accepted too (substitution yields strings).
    pub fn number(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        self.typed(key, "a number", |v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        })
    }

    /// A non-negative integer; numeric strings are accepted too.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        self.typed(key, "a non-negative integer", |v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        })
    }

    /// An integer between 0 and 65535 (ports).
    pub fn u16(&self, key: &str) -> Result<Option<u16>, ConfigError> {
        match self.u64(key)? {
            None => Ok(None),
            Some(n) => u16::try_from(n).map(Some).map_err(|_| {
                ConfigError::invalid(key, format!("{n} is out of range; expected an integer from 0 to 65535"))
            }),
        }
    }

    /// An array of strings.
    pub fn string_list(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(items) = self.typed(key, "an array of strings", Value::as_array)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                item.as_str().map(str::to_owned).ok_or_else(|| ConfigError::WrongType {
                    key: format!("{key}[{index}]"),
                    expected: "a string",
                    actual: type_name(item),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An object.
    pub fn object(&self, key: &str) -> Result<Option<&Map<String, Value>>, ConfigError> {
        self.typed(key, "an object", Value::as_object)
    }

    /// An array.
    pub fn array(&self, key: &str) -> Result<Option<&Vec<Value>>, ConfigError> {
        self.typed(key, "an array", Value::as_array)
    }

    /// A duration, in any of Backstage's forms: an object of units
    /// (`{ hours: 1, minutes: 30 }`: `years`, `months`, `weeks`, `days`, `hours`, `minutes`,
    /// `seconds`, `milliseconds`), an ISO 8601 string (`PT5M`) or an `ms`-style string (`5m`,
    /// `30 seconds`).
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        self.get(key).map(|value| crate::duration::read(key, value)).transpose()
    }

    /// Deserializes the value at `key` into `T` (for plugin-specific sections).
    pub fn deserialize<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        self.get(key)
            .map(|value| T::deserialize(value).map_err(|e| ConfigError::invalid(key, e.to_string())))
            .transpose()
    }

    fn typed<'a, T>(
        &'a self,
        key: &str,
        expected: &'static str,
        convert: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => convert(value).map(Some).ok_or_else(|| ConfigError::WrongType {
                key: key.to_owned(),
                expected,
                actual: type_name(value),
            }),
        }
    }
}

/// How a value's type is named in messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_valid_key_part(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn merge_value(base: &mut Value, base_origin: &mut Origin, over: Value, mut over_origin: Origin) {
    match (base, over) {
        (Value::Object(base_map), Value::Object(over_map)) => {
            for (key, value) in over_map {
                let child_origin = over_origin.take_child(&key);
                match base_map.get_mut(&key) {
                    Some(existing @ Value::Object(_)) if value.is_object() => {
                        merge_value(existing, base_origin.child_mut(&key), value, child_origin);
                    }
                    _ => {
                        base_origin.children.insert(key.clone(), child_origin);
                        base_map.insert(key, value);
                    }
                }
            }
        }
        (base, over) => {
            *base = over;
            *base_origin = over_origin;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn yaml(text: &str, dir: &str) -> Config {
        Config::from_yaml_str(text, Path::new(dir), &no_env).expect("valid config")
    }

    #[test]
    fn merge_is_deep_for_objects_and_replaces_the_rest() {
        let mut config = yaml("a: {b: 1, c: [1, 2], d: {e: x}}\nkeep: yes\n", "/one");
        config.merge(yaml("a: {c: [3], d: {f: y}, b: null}\n", "/two"));
        assert_eq!(
            config.as_json(),
            &json!({"a": {"b": null, "c": [3], "d": {"e": "x", "f": "y"}}, "keep": "yes"})
        );
        assert_eq!(config.get("a.b"), None, "null masks the earlier value");
        assert_eq!(config.origin_dir("keep"), Some(Path::new("/one")));
        assert_eq!(config.origin_dir("a.c"), Some(Path::new("/two")));
        assert_eq!(config.origin_dir("a.d.e"), Some(Path::new("/one")));
        assert_eq!(config.origin_dir("a.d.f"), Some(Path::new("/two")));
        assert_eq!(config.origin_dir("a"), Some(Path::new("/one")));
    }

    #[test]
    fn scalar_replaced_by_object_takes_the_new_origin() {
        let mut config = yaml("a: 1\n", "/one");
        config.merge(yaml("a: {b: 2}\n", "/two"));
        assert_eq!(config.origin_dir("a.b"), Some(Path::new("/two")));
    }

    #[test]
    fn get_walks_objects_and_arrays() {
        let config = yaml("a: {list: [x, {y: 1}]}\n", "/");
        assert_eq!(config.get("a.list.1.y"), Some(&json!(1)));
        assert_eq!(config.get("a.list.5"), None);
        assert_eq!(config.get("a.missing.deeper"), None);
        assert_eq!(config.get(""), Some(config.as_json()));
    }

    #[test]
    fn typed_getters_accept_strings_from_substitution() {
        let config = yaml("p: '7007'\nb: 'true'\nf: '1.5'\n", "/");
        assert_eq!(config.u16("p").expect("port"), Some(7007));
        assert_eq!(config.bool("b").expect("bool"), Some(true));
        assert_eq!(config.number("f").expect("number"), Some(1.5));
    }

    #[test]
    fn wrong_types_name_the_key() {
        let config = yaml("backend: {listen: {port: abc}}\nlist: [a, 1]\nbig: 70000\n", "/");
        let error = config.u16("backend.listen.port").expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "invalid type in config for key 'backend.listen.port': expected a non-negative integer, got a string; fix the value in your app-config"
        );
        let error = config.string_list("list").expect_err("mixed list");
        assert!(matches!(&error, ConfigError::WrongType { key, .. } if key == "list[1]"), "{error}");
        let error = config.u16("big").expect_err("too big");
        assert!(error.to_string().contains("'big'") && error.to_string().contains("65535"), "{error}");
        assert!(config.object("list").is_err());
        assert!(config.array("backend").is_err());
        assert!(config.string("backend.listen").is_err());
    }

    #[test]
    fn env_overrides_apply_on_top() {
        let mut config = yaml("app: {baseUrl: 'http://a', title: T}\n", "/dir");
        config
            .apply_env_overrides([
                ("APP_CONFIG_app_baseUrl".to_owned(), "http://b".to_owned()),
                ("APP_CONFIG_backend_listen_port".to_owned(), "8080".to_owned()),
                ("APP_CONFIG_flag".to_owned(), "\"false\"".to_owned()),
                ("APP_CONFIG_ignored".to_owned(), String::new()),
                ("PATH".to_owned(), "/bin".to_owned()),
            ])
            .expect("valid overrides");
        assert_eq!(config.get("app.baseUrl"), Some(&json!("http://b")));
        assert_eq!(config.get("app.title"), Some(&json!("T")));
        assert_eq!(config.get("backend.listen.port"), Some(&json!(8080)));
        assert_eq!(config.get("flag"), Some(&json!("false")));
        assert!(!config.has("ignored"));
        assert_eq!(config.origin_dir("app.baseUrl"), None);
        assert_eq!(config.origin_dir("app.title"), Some(Path::new("/dir")));
    }

    #[test]
    fn env_override_errors() {
        let mut config = Config::empty();
        let error = config.apply_env_overrides([
            ("APP_CONFIG_a_b".into(), "1".into()),
            ("APP_CONFIG_a".into(), "2".into()),
        ]);
        assert!(error.is_err());
        let error = config.apply_env_overrides([("APP_CONFIG_x".into(), "null".into())]).expect_err("null");
        assert!(error.to_string().contains("APP_CONFIG_x"), "{error}");
        assert!(config.apply_env_overrides([("APP_CONFIG_1x".into(), "1".into())]).is_err());
    }

    #[test]
    fn from_json_requires_an_object() {
        assert!(Config::from_json(json!([1])).is_err());
        let config = Config::from_json(json!({"a": 1})).expect("object");
        assert_eq!(config.u64("a").expect("int"), Some(1));
        assert_eq!(config.origin_dir("a"), None);
    }

    #[test]
    fn deserialize_reads_sections() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Section {
            name: String,
        }
        let config = yaml("s: {name: x}\n", "/");
        assert_eq!(config.deserialize::<Section>("s").expect("ok"), Some(Section { name: "x".into() }));
        assert!(config.deserialize::<Section>("missing").expect("absent").is_none());
        assert!(config.deserialize::<u32>("s").is_err());
    }
}
