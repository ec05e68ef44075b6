//! Loading of Backstage-shaped `app-config.yaml` files.
//!
//! Several files are merged in order (later wins: objects merge deeply, arrays and scalars are
//! replaced, an explicit `null` masks what came before), strings are substituted from the
//! environment (`${VAR}`, `${VAR:-default}`, `$${VAR}` for a literal), and `$env` / `$file` /
//! `$include` objects pull values from elsewhere. `APP_CONFIG_<a>_<b>` environment variables
//! override everything when loading with [`Config::load`].
//!
//! Reading is typed and strict: [`Config::string`], [`Config::u16`], [`Config::duration`], … return
//! `Ok(None)` for an absent key and a [`ConfigError`] naming the key path when a value has the wrong
//! type. [`Config::origin_dir`] tells which directory a value came from, so relative paths can be
//! resolved the way the user wrote them. [`backend::BackendConfig`] reads the `backend.*` keys.

pub mod backend;
mod config;
mod duration;
mod error;
mod origin;
mod transform;

pub use config::Config;
pub use error::ConfigError;

use portico_model::yaml::{YamlLimits, parse_documents};
use serde_json::Value;

/// Parses a file that must hold exactly one YAML document (an empty file is `{}`).
fn parse_yaml_single(text: &str) -> Result<Value, String> {
    let mut documents = parse_documents(text, &YamlLimits::default()).into_iter();
    match (documents.next(), documents.next()) {
        (None, _) => Ok(Value::Object(serde_json::Map::new())),
        (Some(Err(error)), _) => Err(error.message),
        (Some(Ok(document)), None) => Ok(document.value),
        (Some(Ok(_)), Some(_)) => {
            Err("the file holds several YAML documents; a config file holds exactly one".into())
        }
    }
}
