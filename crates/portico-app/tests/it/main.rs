//! End-to-end tests of the whole app, through its router, on real SQLite (and PostgreSQL when
//! `PORTICO_TEST_DATABASE_URL` is set).

mod audit;
mod auth;
mod catalog_api;
mod catalog_bad_input;
mod catalog_client;
mod catalog_ingest;
mod catalog_permission_integration;
mod catalog_permissions;
mod demo_config;
mod golden_path;
mod pages_catalog;
mod pages_create;
mod pages_entity;
mod pages_search;
mod permission_docs_search;
mod scaffolder_api;
mod scaffolder_permissions;
mod search_api;
mod support;
mod techdocs;
