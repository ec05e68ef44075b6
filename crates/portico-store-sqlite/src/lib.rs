//! SQLite implementation of Portico's storage traits.
