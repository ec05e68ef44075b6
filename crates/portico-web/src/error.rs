//! The one API error type.
//!
//! Backstage's error middleware answers every failure with
//! `{"error":{"name","message"},"request":{"method","url"},"response":{"statusCode"}}` and maps
//! the error's name to a status code. Handlers return [`ApiError`] and only choose the kind and
//! message; the app's middleware, which sees the request, adds the `request` part.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Backstage's error names, each with its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Input,
    Authentication,
    NotAllowed,
    NotFound,
    Conflict,
    NotImplemented,
    ServiceUnavailable,
    Internal,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Input => "InputError",
            ErrorKind::Authentication => "AuthenticationError",
            ErrorKind::NotAllowed => "NotAllowedError",
            ErrorKind::NotFound => "NotFoundError",
            ErrorKind::Conflict => "ConflictError",
            ErrorKind::NotImplemented => "NotImplementedError",
            ErrorKind::ServiceUnavailable => "ServiceUnavailableError",
            ErrorKind::Internal => "Error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Input => StatusCode::BAD_REQUEST,
            ErrorKind::Authentication => StatusCode::UNAUTHORIZED,
            ErrorKind::NotAllowed => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            ErrorKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answered as Backstage's JSON error body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotAllowed, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

/// The request part of the error body is filled in by the app's middleware, which sees the
/// request; this marker travels in the response extensions until then.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    pub name: &'static str,
    pub message: String,
    pub status: u16,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let body = ErrorBody { name: self.kind.name(), message: self.message, status: status.as_u16() };
        // Without the middleware (e.g. a router tested on its own) the body still has the error
        // and status parts; the middleware rewrites it with the request part added.
        let json = error_json(&body, None);
        let mut response = (status, json.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        response.extensions_mut().insert(body);
        response
    }
}

/// Backstage's error body; `request` is `(method, url)` when known.
pub fn error_json(body: &ErrorBody, request: Option<(&str, &str)>) -> serde_json::Value {
    let mut value = json!({
        "error": { "name": body.name, "message": body.message },
        "response": { "statusCode": body.status },
    });
    if let Some((method, url)) = request {
        value["request"] = json!({ "method": method, "url": url });
    }
    value
}
