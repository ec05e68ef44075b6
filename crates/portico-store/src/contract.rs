//! The contract every [`crate::CatalogStore`] implementation must pass.
//! Backends call [`run_catalog_contract`] from their own tests with a fresh store factory.
