//! Integration tests of the actions layer, on real files, real git repositories and a real git
//! smart-HTTP server. Tests named `backstage_*` check a behaviour of Backstage's built-in
//! actions (most from its own action tests); `portico_*` tests check Portico's own rules
//! (workspace limits, symbolic links, `publish:git`).

mod catalog;
mod debug;
mod fetch;
mod fs;
mod git;
mod limits;
mod registry;
mod support;
