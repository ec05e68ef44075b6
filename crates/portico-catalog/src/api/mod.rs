//! The `/api/catalog` routes; modules mirror the URL paths.

pub mod query;
pub mod read;
