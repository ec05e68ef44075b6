//! Reading sources from `file` and `url` locations, for every plugin that reads them.
//!
//! All reads go through a [`Reader`], which applies the limits that keep one hostile source from
//! hurting the rest: a size cap, a time cap, the `backend.reading.allow` list of hosts for urls
//! (checked again on every redirect hop), on request confinement of file reads to a folder, and
//! the `backend.reading.localGit` list of folders whose git repositories `file:` urls may read
//! (`file:///srv/git/svc.git/catalog-info.yaml?ref=main`, see [`Reader::with_local_git`]).

mod allow;
mod local_git;
mod reader;

pub use allow::{ReadingAllow, host_allowed, reading_allow};
pub use local_git::{join_url, local_git_roots};
pub use reader::{ReadError, ReadLimits, Reader};
