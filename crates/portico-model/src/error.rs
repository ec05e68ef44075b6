//! Backstage's serialized error shape (`{name, message, cause?}`), used in `status.items`,
//! processing errors and API error bodies.

use serde::{Deserialize, Serialize};

/// A serialized error as Backstage's `serializeError` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerializedError {
    pub name: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<SerializedError>>,
}

impl SerializedError {
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self { name: name.into(), message: message.into(), cause: None }
    }

    /// An `InputError` — Backstage's error for anything wrong with the input.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new("InputError", message)
    }

    pub fn with_cause(mut self, cause: SerializedError) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

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
