//! The log an action writes to, with secret values masked before they leave the action.

use std::sync::{Arc, Mutex, PoisonError};

/// The text that replaces a secret value in logs, as in Backstage.
pub const SECRET_MASK: &str = "***";

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detail for debugging.
    Debug,
    /// Normal progress.
    Info,
    /// Something the template author should look at.
    Warn,
    /// A failure.
    Error,
}

impl LogLevel {
    /// The level's name as Backstage writes it (`info`, `warn`...).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Where action logs go: the task's event stream, a dry-run response, a test buffer.
/// Messages arrive already masked.
pub trait LogSink: Send + Sync {
    /// Records one message (which may span several lines).
    fn write(&self, level: LogLevel, message: &str);
}

/// One recorded log message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// The masked message.
    pub message: String,
}

/// A sink that keeps every message in memory (dry runs, tests).
#[derive(Debug, Default)]
pub struct MemoryLog {
    lines: Mutex<Vec<LogLine>>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        MemoryLog::default()
    }

    /// The messages so far, oldest first.
    pub fn lines(&self) -> Vec<LogLine> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// All messages joined by newlines.
    pub fn text(&self) -> String {
        self.lines().iter().map(|line| line.message.as_str()).collect::<Vec<_>>().join("\n")
    }
}

impl LogSink for MemoryLog {
    fn write(&self, level: LogLevel, message: &str) {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(LogLine { level, message: message.to_owned() });
    }
}

/// The logger handed to actions. Every message is masked: each known secret value is replaced
/// by `***` before the sink sees it. Clones share the sink and the secrets.
#[derive(Clone)]
pub struct ActionLogger {
    sink: Arc<dyn LogSink>,
    secrets: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for ActionLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionLogger").finish_non_exhaustive()
    }
}

impl ActionLogger {
    /// A logger writing to `sink`, masking nothing yet.
    pub fn new(sink: Arc<dyn LogSink>) -> Self {
        ActionLogger { sink, secrets: Arc::default() }
    }

    /// Masks `value` in every later message (empty values are ignored).
    pub fn add_secret(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        if !secrets.iter().any(|known| known == value) {
            secrets.push(value.to_owned());
            // Longest first, so that a secret containing another is masked whole.
            secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        secrets.iter().fold(text.to_owned(), |masked, secret| masked.replace(secret.as_str(), SECRET_MASK))
    }

    /// Writes a masked message at `level`.
    pub fn log(&self, level: LogLevel, message: impl AsRef<str>) {
        self.sink.write(level, &self.mask(message.as_ref()));
    }

    /// Writes a debug message.
    pub fn debug(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Debug, message);
    }

    /// Writes an info message.
    pub fn info(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Info, message);
    }

    /// Writes a warning.
    pub fn warn(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Warn, message);
    }

    /// Writes an error message.
    pub fn error(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Error, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_longest_first() {
        let sink = Arc::new(MemoryLog::new());
        let logger = ActionLogger::new(sink.clone());
        logger.add_secret("abc");
        logger.add_secret("abcdef");
        logger.add_secret("");
        logger.info("token abcdef and abc and ab");
        assert_eq!(sink.text(), "token *** and *** and ab");
        assert_eq!(sink.lines()[0].level, LogLevel::Info);
    }
}
