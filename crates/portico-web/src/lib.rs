//! Shared web pieces: the error type every handler returns, which renders Backstage's JSON error
//! body for `/api` routes.

mod error;

pub use error::{ApiError, ApiResult, ErrorBody, ErrorKind, error_json};
