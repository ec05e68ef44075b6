//! Errors of HTML pages: rendered as a page inside the shell with a title, an explanation and
//! links that help the reader on (the JSON error body is [`ApiError`](crate::ApiError)'s job).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::html::Markup;

/// A failed page: its status, a title, what went wrong and where to go instead.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {title}: {message}")]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    /// Links offered to the reader, `(label, href)`; relative hrefs built by the page.
    pub links: Vec<(String, String)>,
}

impl PageError {
    /// A page error with this status.
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> PageError {
        PageError { status, title: title.into(), message: message.into(), links: Vec::new() }
    }

    /// 404: nothing lives at this address.
    pub fn not_found(title: impl Into<String>, message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::NOT_FOUND, title, message)
            .link("Go to the home page", "/")
            .link("Browse the catalog", "/catalog")
    }

    /// 400: the request cannot be understood.
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::BAD_REQUEST, "This request cannot be shown", message)
    }

    /// 500: something failed on the server.
    pub fn internal(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", message)
    }

    /// Adds a link offered to the reader (links added first are shown first).
    pub fn link(mut self, label: impl Into<String>, href: impl Into<String>) -> PageError {
        self.links.push((label.into(), href.into()));
        self
    }

    /// Puts a link first.
    pub fn first_link(mut self, label: impl Into<String>, href: impl Into<String>) -> PageError {
        self.links.insert(0, (label.into(), href.into()));
        self
    }
}

/// The error as the shell middleware finds it in the response's extensions.
#[derive(Debug, Clone)]
pub struct PageErrorBody {
    pub title: String,
    pub message: String,
    pub status: u16,
    pub links: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorContent<'a> {
    body: &'a PageErrorBody,
}

impl PageErrorBody {
    /// The error's content (without the shell).
    pub fn render(&self) -> Markup {
        Markup::render(&ErrorContent { body: self })
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = PageErrorBody {
            title: self.title,
            message: self.message,
            status: self.status.as_u16(),
            links: self.links,
        };
        // Without the shell middleware (a router tested alone) the content is still a
        // readable page; the middleware replaces it with the content inside the shell.
        let mut response = (self.status, axum::response::Html(body.render().into_string())).into_response();
        response.extensions_mut().insert(body);
        response
    }
}
