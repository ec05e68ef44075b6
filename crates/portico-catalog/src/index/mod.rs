//! The in-memory read index.
