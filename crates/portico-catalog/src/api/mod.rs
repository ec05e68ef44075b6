//! The `/api/catalog` routes; modules mirror the URL paths.

pub mod openapi;
pub mod permissions;
pub mod predicate;
pub mod query;
pub mod read;
pub mod service;
pub mod write;
