//! PostgreSQL implementation of Portico's storage traits.
