//! Integration tests of the actions layer, on real files, real git repositories and a real git
//! smart-HTTP server. Tests named `backstage_*` check a behaviour of Backstage's built-in
//! actions or workflow runner (most from its own tests); `portico_*` tests check Portico's own
//! rules (workspace limits, symbolic links, `publish:git`, the runner's results).

mod catalog;
mod debug;
mod fetch;
mod fs;
mod git;
mod golden_path;
mod limits;
mod parameters;
mod registry;
mod runner;
mod support;
