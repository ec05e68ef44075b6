//! Shared web pieces.
//!
//! * [`ApiError`]: the error every `/api` handler returns, rendered as Backstage's JSON error
//!   body; [`PageError`]: the error of HTML pages, rendered as a page inside the shell.
//! * The page shell ([`shell`]): layout, navigation ([`NavItem`]), global search box, theme
//!   switch; page handlers take a [`PageContext`] and call [`PageContext::page`].
//! * Shared components ([`components`]), icons ([`icons`]), HTML helpers ([`html`]: [`Markup`],
//!   [`safe_href`]), query-string state ([`Query`]), the viewer ([`Viewer`]), who sent a
//!   request ([`Principal`]) and form-post helpers ([`check_same_origin`], [`see_other`]).
//! * Server-side syntax highlighting of code ([`highlight`]).
//! * Embedded static assets under content-hashed URLs ([`assets`]) and the settings page
//!   ([`settings`]); [`routes`] mounts both.
//! * Extension points for entity pages ([`EntityTab`], [`EntityCard`], [`EntityPageExtensions`]).

pub mod assets;
pub mod components;
mod entity_tabs;
mod error;
mod forms;
pub mod highlight;
pub mod html;
pub mod icons;
mod page_error;
mod principal;
mod query;
pub mod settings;
pub mod shell;
pub mod time;
mod viewer;

pub use entity_tabs::{AppliesTo, EntityCard, EntityPageExtensions, EntityTab, TabFuture, TabRender};
pub use error::{ApiError, ApiResult, ErrorBody, ErrorKind, error_json};
pub use forms::{check_same_origin, see_other};
pub use html::{Markup, escape, safe_href};
pub use page_error::{PageError, PageErrorBody};
pub use principal::{AccessRestrictions, Principal, ServicePrincipal, UserPrincipal};
pub use query::Query;
pub use shell::{
    DOCS_CONTENT_SECURITY_POLICY, NavItem, PageContext, SIGN_IN_PATH, SIGN_OUT_PATH, Shell, not_found,
    shell_middleware, with_docs_content_security_policy,
};
pub use viewer::{GUEST_USER, THEME_COOKIE, Theme, USER_COOKIE, Viewer, cookies};

/// The routes the shell itself serves: `/assets/{file}` and `/settings`.
pub fn routes() -> axum::Router {
    assets::router().merge(settings::router())
}
