//! Backstage's serialized error shape (`{name, message, cause?}`), used in `status.items`,
//! processing errors and API error bodies.

use serde::{Deserialize, Serialize};

/// Error names as Backstage writes them in `error.name`.
pub mod names {
    /// `@backstage/errors` `InputError`: something is wrong with the input.
    pub const INPUT_ERROR: &str = "InputError";
    /// `@backstage/errors` `ConflictError`.
    pub const CONFLICT_ERROR: &str = "ConflictError";
    /// `@backstage/errors` `NotAllowedError`.
    pub const NOT_ALLOWED_ERROR: &str = "NotAllowedError";
    /// `@backstage/errors` `NotFoundError`.
    pub const NOT_FOUND_ERROR: &str = "NotFoundError";
    /// A plain JavaScript `Error`.
    pub const ERROR: &str = "Error";
    /// A JavaScript `TypeError` (schema and reference parse failures).
    pub const TYPE_ERROR: &str = "TypeError";
}

/// A serialized error as Backstage's `serializeError` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerializedError {
    /// The error class name, e.g. `InputError`.
    pub name: String,
    /// The full message; for wrapped errors it already ends in `; caused by <Name>: <message>`.
    pub message: String,
    /// The wrapped error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<SerializedError>>,
}

impl SerializedError {
    /// An error without a cause.
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self { name: name.into(), message: message.into(), cause: None }
    }

    /// An `InputError` — Backstage's error for anything wrong with the input.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(names::INPUT_ERROR, message)
    }

    /// A plain `Error`.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(names::ERROR, message)
    }

    /// A `TypeError`.
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(names::TYPE_ERROR, message)
    }

    /// Attaches `cause` without touching the message.
    pub fn with_cause(mut self, cause: SerializedError) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    /// Wraps `cause` the way `@backstage/errors`' `CustomErrorBase` does: the message becomes
    /// `<message>; caused by <cause name>: <cause message>` and `cause` is kept.
    pub fn wrapping(name: impl Into<String>, message: impl AsRef<str>, cause: SerializedError) -> Self {
        let message = format!("{}; caused by {}", message.as_ref(), cause.display_string());
        Self::new(name, message).with_cause(cause)
    }

    /// JavaScript's `String(error)`: `<name>: <message>`, or just the name for an empty message.
    pub fn display_string(&self) -> String {
        if self.message.is_empty() { self.name.clone() } else { format!("{}: {}", self.name, self.message) }
    }

    /// The JSON form (`{name, message, cause?}`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl std::fmt::Display for SerializedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for SerializedError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrapping_composes_the_message_like_custom_error_base() {
        let inner = SerializedError::error("Unknown field status");
        let outer = SerializedError::wrapping(names::INPUT_ERROR, "Policy check failed for x", inner);
        assert_eq!(outer.message, "Policy check failed for x; caused by Error: Unknown field status");
        assert_eq!(
            outer.to_json(),
            json!({
                "name": "InputError",
                "message": "Policy check failed for x; caused by Error: Unknown field status",
                "cause": {"name": "Error", "message": "Unknown field status"}
            })
        );
    }

    #[test]
    fn display_string_omits_empty_message() {
        assert_eq!(SerializedError::error("").display_string(), "Error");
        assert_eq!(SerializedError::type_error("x").display_string(), "TypeError: x");
    }
}
