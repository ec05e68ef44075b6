//! What happens to a config file between parsing and merging: `${VAR}` substitution and the
//! `$env` / `$file` / `$include` include forms, exactly in Backstage's order and semantics.
//!
//! * Every string is substituted; `$${X}` is a literal `${X}`; `${VAR:-default}` takes the default
//!   when `VAR` is unset or empty. If any referenced variable is unset (and has no default), the
//!   whole value becomes undefined: the key is dropped from its object (or the item from its
//!   array), like Backstage does, so readers see it as absent rather than as an empty string.
//! * An object whose only key is `$env`, `$file` or `$include` is replaced by what it names;
//!   paths are relative to the directory of the file holding the include, and values inside an
//!   included file are relative to *that* file's directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::ConfigError;
use crate::origin::Origin;

const INCLUDE_KEYS: [&str; 3] = ["$file", "$env", "$include"];

/// Nested `$include`s deeper than this are assumed to be a cycle.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Looks up one environment variable.
pub(crate) type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Applies substitution and includes to the data of one config file.
pub(crate) struct Transformer<'a> {
    pub(crate) env: EnvFn<'a>,
    /// The file being transformed, named in errors.
    pub(crate) file: &'a Path,
}

impl Transformer<'_> {
    /// Transforms `value` found at `key` (dotted path) in a file living in `dir`. `Ok(None)`
    /// means the value is undefined and its key must be dropped.
    pub(crate) fn transform(
        &self,
        value: Value,
        key: &str,
        dir: &Arc<Path>,
        include_depth: usize,
    ) -> Result<Option<(Value, Origin)>, ConfigError> {
        match value {
            Value::String(text) => {
                Ok(substitute(&text, self.env).map(|s| (Value::String(s), Origin::leaf(dir))))
            }
            Value::Object(map) if map.keys().any(|k| INCLUDE_KEYS.contains(&k.as_str())) => {
                self.include(map, key, dir, include_depth)
            }
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                let mut origin = Origin::leaf(dir);
                for (child_key, child) in map {
                    let path = join_key(key, &child_key);
                    if let Some((value, child_origin)) = self.transform(child, &path, dir, include_depth)? {
                        origin.add_child_if_different(&child_key, child_origin);
                        out.insert(child_key, value);
                    }
                }
                Ok(Some((Value::Object(out), origin)))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    if let Some((value, _)) =
                        self.transform(item, &format!("{key}[{index}]"), dir, include_depth)?
                    {
                        out.push(value);
                    }
                }
                Ok(Some((Value::Array(out), Origin::leaf(dir))))
            }
            other => Ok(Some((other, Origin::leaf(dir)))),
        }
    }

    fn include(
        &self,
        map: Map<String, Value>,
        key: &str,
        dir: &Arc<Path>,
        include_depth: usize,
    ) -> Result<Option<(Value, Origin)>, ConfigError> {
        let error = |message: String| ConfigError::Include {
            file: self.file.to_path_buf(),
            key: if key.is_empty() { "<root>".to_owned() } else { key.to_owned() },
            message,
        };
        let Some((include_key, raw)) = map
            .into_iter()
            .try_fold(None, |found, (k, v)| match found {
                None => Ok(Some((k, v))),
                Some((first, _)) => Err(format!("include key {first} should not have adjacent keys")),
            })
            .map_err(error)?
        else {
            return Ok(None);
        };
        let Value::String(raw) = raw else {
            return Err(error(format!("{include_key} include value is not a string")));
        };
        let Some(target) = substitute(&raw, self.env) else {
            return Err(error(format!("{include_key} substitution value was undefined")));
        };
        match include_key.as_str() {
            "$env" => Ok(env_var(self.env, &target).map(|v| (Value::String(v), Origin::leaf(dir)))),
            "$file" => {
                let path = dir.join(&target);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| error(format!("failed to read file {target} ({}), {e}", path.display())))?;
                Ok(Some((Value::String(text.trim_end().to_owned()), Origin::leaf(dir))))
            }
            _ => {
                if include_depth >= MAX_INCLUDE_DEPTH {
                    return Err(error(format!(
                        "$include nested more than {MAX_INCLUDE_DEPTH} levels deep; do the included files include each other?"
                    )));
                }
                let (file_part, data_path) = match target.split_once('#') {
                    Some((file, path)) => (file, Some(path)),
                    None => (target.as_str(), None),
                };
                let path = dir.join(file_part);
                let extension = Path::new(file_part).extension().and_then(|e| e.to_str()).unwrap_or("");
                let is_json = match extension {
                    "json" => true,
                    "yaml" | "yml" => false,
                    _ => {
                        return Err(error(format!(
                            "no configuration parser available for included file {file_part} (use .json, .yaml or .yml)"
                        )));
                    }
                };
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    error(format!("failed to read file {file_part} ({}), {e}", path.display()))
                })?;
                let parsed = if is_json {
                    serde_json::from_str(&text).map_err(|e| e.to_string())
                } else {
                    crate::parse_yaml_single(&text)
                };
                let mut value =
                    parsed.map_err(|e| error(format!("failed to parse included file {file_part}, {e}")))?;
                if let Some(data_path) = data_path.filter(|p| !p.is_empty()) {
                    let parts: Vec<&str> = data_path.split('.').collect();
                    for (index, part) in parts.iter().enumerate() {
                        let Value::Object(mut object) = value else {
                            return Err(error(format!(
                                "value at '{}' in included file {file_part} is not an object",
                                parts[..index].join(".")
                            )));
                        };
                        value = object.remove(*part).unwrap_or(Value::Null);
                    }
                }
                let new_dir: Arc<Path> =
                    Arc::from(path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf));
                let included = Transformer { env: self.env, file: &path };
                included.transform(value, key, &new_dir, include_depth + 1)
            }
        }
    }
}

/// Joins a dotted key path and a child key.
pub(crate) fn join_key(parent: &str, child: &str) -> String {
    if parent.is_empty() { child.to_owned() } else { format!("{parent}.{child}") }
}

/// Reads a variable the way Backstage does: surrounding whitespace is trimmed.
fn env_var(env: EnvFn<'_>, name: &str) -> Option<String> {
    env(name).map(|v| v.trim().to_owned())
}

/// Substitutes every `${...}` of `input`; `None` when a referenced variable is unset.
pub(crate) fn substitute(input: &str, env: EnvFn<'_>) -> Option<String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(expression) = tail.strip_prefix("$$").and_then(braced) {
            // `$${X}` is the escape for a literal `${X}`.
            let end = expression.len() + 4; // `$$` + `{` + expression + `}`
            out.push_str(&tail[1..end]);
            rest = &tail[end..];
        } else if let Some(expression) = tail.strip_prefix('$').and_then(braced) {
            out.push_str(&resolve(expression.trim(), env)?);
            rest = &tail[expression.len() + 3..]; // `$` + `{` + expression + `}`
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// For text starting with `{content}` where content holds no braces, returns `content`.
fn braced(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('{')?;
    let end = inner.find(['{', '}'])?;
    inner[end..].starts_with('}').then(|| &inner[..end])
}

/// Resolves `VAR` or `VAR:-default`.
fn resolve(expression: &str, env: EnvFn<'_>) -> Option<String> {
    match expression.split_once(":-") {
        Some((name, default)) => {
            Some(env_var(env, name.trim()).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned()))
        }
        None => env_var(env, expression),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("example.com".into()),
            "PORT" => Some(" 8080 ".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_every_occurrence() {
        assert_eq!(
            substitute("http://${HOST}:${ PORT }/x", &env).as_deref(),
            Some("http://example.com:8080/x")
        );
        assert_eq!(substitute("no vars $ here $", &env).as_deref(), Some("no vars $ here $"));
    }

    #[test]
    fn missing_variable_makes_the_value_undefined() {
        assert_eq!(substitute("a ${HOST} ${MISSING}", &env), None);
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        assert_eq!(substitute("${MISSING:-fallback}", &env).as_deref(), Some("fallback"));
        assert_eq!(substitute("${EMPTY:-fallback}", &env).as_deref(), Some("fallback"));
        assert_eq!(substitute("${HOST:-fallback}", &env).as_deref(), Some("example.com"));
        assert_eq!(substitute("${MISSING:-}", &env).as_deref(), Some(""));
    }

    #[test]
    fn double_dollar_escapes() {
        assert_eq!(substitute("$${HOST} and ${HOST}", &env).as_deref(), Some("${HOST} and example.com"));
        assert_eq!(substitute("$${MISSING}", &env).as_deref(), Some("${MISSING}"));
        assert_eq!(substitute("$$$${HOST}", &env).as_deref(), Some("$$${HOST}"));
    }

    #[test]
    fn unterminated_or_nested_braces_are_literal() {
        assert_eq!(substitute("${HOST", &env).as_deref(), Some("${HOST"));
        assert_eq!(substitute("${a{b}", &env).as_deref(), Some("${a{b}"));
    }
}
