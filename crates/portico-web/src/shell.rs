//! The page shell: the layout every page shares (sidebar navigation, header with the global
//! search box, the theme switch and the user menu), what it needs to know about the viewer,
//! and the middleware that gives page handlers the shell and renders page errors inside it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::html::{Markup, encode_component};
use crate::page_error::{PageError, PageErrorBody};
use crate::viewer::{Theme, Viewer};
use crate::{assets, icons};

/// One entry of the sidebar navigation, registered by the plugin that serves the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavItem {
    /// Visible label (`Catalog`).
    pub label: String,
    /// Where it leads (`/catalog`); also decides when the entry is highlighted: the entry
    /// whose `href` is the longest prefix of the current path (`/` only for itself).
    pub href: String,
    /// An icon id from [`icons::NAMES`](crate::icons::NAMES); an unknown id shows a dot.
    pub icon: &'static str,
    /// Position: lower comes first. Home is 0, Catalog 10, APIs 20, Docs 30, Create 40,
    /// Search 50, Settings 100.
    pub order: i32,
}

impl NavItem {
    /// A navigation entry.
    pub fn new(label: impl Into<String>, href: impl Into<String>, icon: &'static str, order: i32) -> NavItem {
        NavItem { label: label.into(), href: href.into(), icon, order }
    }
}

/// The sign-in page, served by the auth plugin; takes the page to go back to as `returnTo`.
pub const SIGN_IN_PATH: &str = "/sign-in";
/// Where the user menu posts to sign out.
pub const SIGN_OUT_PATH: &str = "/sign-out";

/// What the shell shows around every page; built once by the app from the registered
/// navigation entries.
#[derive(Debug, Clone)]
pub struct Shell {
    /// The portal's name (`app.title`).
    pub app_title: String,
    /// Navigation entries, sorted by `order`.
    pub nav: Vec<NavItem>,
    /// Where the header's search box sends its `q` parameter.
    pub search_action: String,
    /// Facts shown on the settings page's About section (`("Version", "0.1.0")`).
    pub about: Vec<(String, String)>,
    /// Whether sign-in is served ([`SIGN_IN_PATH`]): the header then offers it to visitors who
    /// have not signed in.
    pub sign_in: bool,
}

impl Default for Shell {
    fn default() -> Self {
        Shell::new("Portico", Vec::new())
    }
}

impl Shell {
    /// A shell with these navigation entries (sorted here) and the settings entry.
    pub fn new(app_title: impl Into<String>, mut nav: Vec<NavItem>) -> Shell {
        if !nav.iter().any(|item| item.href == "/settings") {
            nav.push(NavItem::new("Settings", "/settings", "settings", 100));
        }
        nav.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.label.cmp(&b.label)));
        Shell {
            app_title: app_title.into(),
            nav,
            search_action: "/catalog".into(),
            about: Vec::new(),
            sign_in: false,
        }
    }

    /// The entry to highlight for a path.
    fn active_href(&self, path: &str) -> Option<&str> {
        self.nav
            .iter()
            .filter(|item| {
                if item.href == "/" {
                    path == "/"
                } else {
                    path == item.href
                        || path.strip_prefix(item.href.as_str()).is_some_and(|rest| rest.starts_with('/'))
                }
            })
            .max_by_key(|item| item.href.len())
            .map(|item| item.href.as_str())
    }
}

/// What a page handler knows about the request it renders: the shell, the viewer (theme,
/// identity), the path and query, and whether htmx asked for a
/// fragment. Extracted in any handler below the app's shell middleware.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub shell: Arc<Shell>,
    pub viewer: Viewer,
    /// The request path (`/catalog`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// `true` for an htmx request that swaps part of the page (`HX-Request`), `false` for a
    /// full page load and for htmx's history restore, which needs the whole page.
    pub fragment: bool,
}

impl PageContext {
    fn from_parts(parts: &Parts) -> PageContext {
        let shell = parts.extensions.get::<Arc<Shell>>().cloned().unwrap_or_default();
        PageContext {
            shell,
            viewer: Viewer::from_parts(parts),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            fragment: is_fragment_request(&parts.headers),
        }
    }

    /// A whole page: `content` inside the shell, titled `title`.
    pub fn page(&self, title: &str, content: Markup) -> Response {
        let html = Markup::render(&Layout::new(self, title, content));
        page_response(html)
    }

    /// A fragment for htmx (no shell).
    pub fn fragment(&self, content: Markup) -> Response {
        page_response(content)
    }

    /// The sign-in page, asked to come back to this page afterwards.
    pub fn sign_in_href(&self) -> String {
        let here = match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        };
        format!("{SIGN_IN_PATH}?returnTo={}", encode_component(&here))
    }

    /// The whole page, or only `fragment` when htmx asked for one.
    pub fn page_or_fragment(
        &self,
        title: &str,
        content: impl FnOnce() -> Markup,
        fragment: Markup,
    ) -> Response {
        if self.fragment { self.fragment(fragment) } else { self.page(title, content()) }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PageContext::from_parts(parts))
    }
}

fn is_fragment_request(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request") && !headers.contains_key("hx-history-restore-request")
}

/// Headers every HTML answer carries: the content type, a strict content security policy
/// (only this origin's scripts and styles; no inline code), and `Vary: HX-Request` because the
/// same URL answers a page or a fragment.
fn page_response(html: Markup) -> Response {
    let mut response = Html(html.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::VARY, HeaderValue::from_static("HX-Request, Cookie"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The content security policy of pages.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The content security policy of documentation pages that draw Mermaid diagrams:
/// [`CONTENT_SECURITY_POLICY`] with inline styles allowed. Mermaid puts a `<style>` element in
/// every SVG it draws and sets `style` attributes on its shapes; under `style-src 'self'` the
/// browser drops both and diagrams come out as black boxes. Scripts stay restricted to this
/// origin, and the page's own content cannot use the relaxation: the docs build's sanitiser
/// removes `style` elements and attributes from every page.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

/// Gives one page response [`DOCS_CONTENT_SECURITY_POLICY`] instead of the default policy; for
/// documentation pages that load Mermaid, and no others.
pub fn with_docs_content_security_policy(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY));
    response
}

/// The signed-in user as the header's menu shows them.
struct UserMenu<'a> {
    /// The name part of the user's ref (`jane.doe`).
    name: &'a str,
    /// The first letter of the name, upper-cased, for the avatar.
    initial: String,
    entity_ref: &'a str,
}

impl<'a> UserMenu<'a> {
    fn new(entity_ref: &'a str) -> UserMenu<'a> {
        let name = entity_ref.rsplit_once('/').map_or(entity_ref, |(_, name)| name);
        let initial = name.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
        UserMenu { name, initial, entity_ref }
    }
}

/// A navigation entry as the layout draws it.
struct NavLink<'a> {
    item: &'a NavItem,
    active: bool,
    icon: Markup,
}

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    title: &'a str,
    app_title: &'a str,
    nav: Vec<NavLink<'a>>,
    theme: Option<&'static str>,
    search_action: &'a str,
    search_value: String,
    content: Markup,
    css: String,
    js: String,
    htmx: String,
    favicon: String,
    icon_search: Markup,
    icon_sun: Markup,
    icon_moon: Markup,
    logo: Markup,
    user: Option<UserMenu<'a>>,
    /// The sign-in link for visitors who have not signed in, when sign-in is served.
    sign_in: Option<String>,
    sign_out: &'static str,
}

impl<'a> Layout<'a> {
    fn new(cx: &'a PageContext, title: &'a str, content: Markup) -> Layout<'a> {
        let active = cx.shell.active_href(&cx.path);
        let nav = cx
            .shell
            .nav
            .iter()
            .map(|item| NavLink {
                item,
                active: Some(item.href.as_str()) == active,
                icon: icons::icon(item.icon),
            })
            .collect();
        // The header box shows the current search when the page is the search target.
        let search_value = if cx.path == cx.shell.search_action {
            crate::query::Query::parse(cx.query.as_deref()).one("q").unwrap_or_default().to_owned()
        } else {
            String::new()
        };
        Layout {
            title,
            app_title: &cx.shell.app_title,
            nav,
            theme: match cx.viewer.theme {
                Theme::System => None,
                Theme::Light => Some("light"),
                Theme::Dark => Some("dark"),
            },
            search_action: &cx.shell.search_action,
            search_value,
            content,
            css: assets::url("portico.css"),
            js: assets::url("portico.js"),
            htmx: assets::url("htmx.min.js"),
            favicon: assets::url("favicon.svg"),
            icon_search: icons::icon("search"),
            icon_sun: icons::icon("sun"),
            icon_moon: icons::icon("moon"),
            logo: icons::icon("logo"),
            user: cx.viewer.signed_in().map(|user| UserMenu::new(&user.user_entity_ref)),
            sign_in: (cx.shell.sign_in && cx.viewer.signed_in().is_none() && cx.path != SIGN_IN_PATH)
                .then(|| cx.sign_in_href()),
            sign_out: SIGN_OUT_PATH,
        }
    }
}

/// The app's page middleware: makes the shell available to [`PageContext`] and renders
/// [`PageError`]s (which cannot see the request) as whole pages inside the shell.
pub async fn shell_middleware(shell: Arc<Shell>, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(shell);
    let (parts, body) = request.into_parts();
    let cx = PageContext::from_parts(&parts);
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(error) = response.extensions().get::<PageErrorBody>().cloned() else { return response };
    let status = response.status();
    let content = error.render();
    let mut page = if cx.fragment { cx.fragment(content) } else { cx.page(&error.title, content) };
    *page.status_mut() = status;
    page
}

/// The fallback for paths no route serves: a helpful 404 page.
pub async fn not_found() -> PageError {
    PageError::not_found("Page not found", "There is no page at this address.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_pages_relax_only_the_style_policy() {
        assert_eq!(
            DOCS_CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        );
        let cx = PageContext {
            shell: Arc::new(Shell::default()),
            viewer: Viewer::from_headers(&HeaderMap::new()),
            path: "/docs".into(),
            query: None,
            fragment: false,
        };
        let page = cx.page("Docs", Markup::trusted("<p>x</p>"));
        assert_eq!(page.headers()[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        let docs = with_docs_content_security_policy(page);
        let policy = docs.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(policy, DOCS_CONTENT_SECURITY_POLICY);
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert_eq!(docs.headers().get_all(header::CONTENT_SECURITY_POLICY).iter().count(), 1);
    }

    #[test]
    fn settings_is_always_in_the_navigation_and_entries_are_ordered() {
        let shell = Shell::new(
            "Portico",
            vec![NavItem::new("Catalog", "/catalog", "catalog", 10), NavItem::new("Home", "/", "home", 0)],
        );
        let labels: Vec<&str> = shell.nav.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, ["Home", "Catalog", "Settings"]);
    }

    #[test]
    fn the_longest_matching_entry_is_active() {
        let shell = Shell::new(
            "Portico",
            vec![NavItem::new("Home", "/", "home", 0), NavItem::new("Catalog", "/catalog", "catalog", 10)],
        );
        assert_eq!(shell.active_href("/"), Some("/"));
        assert_eq!(shell.active_href("/catalog/default/component/x"), Some("/catalog"));
        assert_eq!(shell.active_href("/catalog-import"), None);
        assert_eq!(shell.active_href("/settings"), Some("/settings"));
    }
}
