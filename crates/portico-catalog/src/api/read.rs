//! Read routes served from the in-memory index.
