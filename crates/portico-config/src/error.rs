//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading or reading configuration. Every message names the
/// file or the key path involved so that it can be fixed without reading code.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file (or a file it includes) could not be read.
    #[error("could not read config file {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A config file is not valid YAML, or its root is not an object.
    #[error("invalid config file {}: {message}", path.display())]
    Parse {
        /// The offending file.
        path: PathBuf,
        /// What is wrong, with a line and column where known.
        message: String,
    },
    /// A `$file`, `$env` or `$include` could not be resolved.
    #[error("{}: error at '{key}': {message}", file.display())]
    Include {
        /// The config file holding the include.
        file: PathBuf,
        /// The key path of the include inside that file.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A value exists but has the wrong type.
    #[error(
        "invalid type in config for key '{key}': expected {expected}, got {actual}; fix the value in your app-config"
    )]
    WrongType {
        /// The dotted key path, e.g. `backend.listen.port`.
        key: String,
        /// What was expected, e.g. `a number`.
        expected: &'static str,
        /// What was found, e.g. `a string`.
        actual: &'static str,
    },
    /// A value has the right type but is not acceptable.
    #[error("invalid config value at '{key}': {message}")]
    Invalid {
        /// The dotted key path.
        key: String,
        /// What is wrong and what is accepted instead.
        message: String,
    },
    /// An `APP_CONFIG_*` environment variable could not be applied.
    #[error("invalid config override in environment variable {name}: {message}")]
    EnvOverride {
        /// The variable name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid { key: key.into(), message: message.into() }
    }
}
