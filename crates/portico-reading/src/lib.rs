//! Reading sources from `file` and `url` locations, for every plugin that reads them.
//!
//! All reads go through a [`Reader`], which applies the limits that keep one hostile source from
//! hurting the rest: a size cap, a time cap, the `backend.reading.allow` list of hosts for urls
//! (checked again on every redirect hop), and, on request, confinement of file reads to a folder.

mod allow;
mod reader;

pub use allow::{ReadingAllow, host_allowed, reading_allow};
pub use reader::{ReadError, ReadLimits, Reader};
