//! What the API and the pages share: request validation with Backstage's rules and messages,
//! and running a query against the serving index.

use std::sync::Arc;

use portico_plugin::Access;
use serde_json::{Map, Value};

use crate::api::ReadPermission;
use crate::config::SearchConfig;
use crate::engine::{self, DEFAULT_PAGE_LIMIT, SearchQuery, SearchResultSet, decode_cursor};
use crate::index::{SearchError, SearchIndex};

/// The search service: the index, the registered types and the limits.
#[derive(Clone)]
pub struct SearchService {
    index: Arc<SearchIndex>,
    config: Arc<SearchConfig>,
    /// Registered document types and their boosts, in registration order.
    types: Arc<Vec<(String, f32)>>,
    tags: Arc<(String, String)>,
    /// Who may read which catalog entities; without it every document is found by everyone.
    read_permission: Option<Arc<dyn ReadPermission>>,
}

impl SearchService {
    pub fn new(index: Arc<SearchIndex>, config: Arc<SearchConfig>, types: Vec<String>) -> SearchService {
        let types = types
            .into_iter()
            .map(|t| {
                let boost = config.boosts.get(&t).copied().unwrap_or(1.0);
                (t, boost)
            })
            .collect();
        SearchService {
            index,
            config,
            types: Arc::new(types),
            tags: Arc::new(engine::highlight_tags()),
            read_permission: None,
        }
    }

    /// The service finding, for each caller, only the documents of catalog entities they may
    /// read (see [`ReadPermission`]).
    pub fn with_read_permission(mut self, read_permission: Arc<dyn ReadPermission>) -> SearchService {
        self.read_permission = Some(read_permission);
        self
    }

    /// The registered document types.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|(t, _)| t.as_str())
    }

    /// The highlight tags results use.
    pub fn tags(&self) -> &(String, String) {
        &self.tags
    }

    /// Validates query-string parameters (already parsed with the qs rules) as Backstage's
    /// router does; the error is the `InputError` message.
    pub fn parse_request(&self, params: &Map<String, Value>) -> Result<SearchQuery, String> {
        let invalid = |detail: String| format!("Invalid query string: {detail}");
        let term = match params.get("term") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("term: Expected string".into())),
        };
        let types: Vec<String> = match params.get("types") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid("types: Expected string".into()))?,
            Some(_) => return Err(invalid("types: Expected array".into())),
        };
        for (i, t) in types.iter().enumerate() {
            if !self.types().any(|known| known == t) {
                let known: Vec<String> = self.types().map(|k| format!("'{k}'")).collect();
                return Err(invalid(format!(
                    "types.{i}: Invalid enum value. Expected {}, received '{t}'",
                    known.join(" | ")
                )));
            }
        }
        let filters = match params.get("filters") {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(invalid("filters: Expected object".into())),
        };
        let page = match params.get("pageCursor") {
            None => 0,
            Some(Value::String(cursor)) if cursor.is_empty() => 0,
            Some(Value::String(cursor)) => {
                decode_cursor(cursor).ok_or_else(|| invalid("pageCursor: Invalid cursor".into()))?
            }
            Some(_) => return Err(invalid("pageCursor: Expected string".into())),
        };
        let page_limit = match params.get("pageLimit") {
            None => None,
            Some(Value::String(s)) => {
                Some(s.trim().parse::<u64>().map_err(|_| invalid("pageLimit: Expected number".into()))?)
            }
            Some(_) => return Err(invalid("pageLimit: Expected number".into())),
        };
        let length = term.encode_utf16().count();
        if length > self.config.max_term_length {
            return Err(format!(
                "The term length \"{length}\" is greater than \"{}\"",
                self.config.max_term_length
            ));
        }
        if let Some(limit) = page_limit
            && limit > self.config.max_page_limit as u64
        {
            return Err(format!(
                "The page limit \"{limit}\" is greater than \"{}\"",
                self.config.max_page_limit
            ));
        }
        Ok(SearchQuery {
            term,
            types,
            filters,
            page,
            page_limit: page_limit.map_or(DEFAULT_PAGE_LIMIT, |l| (l as usize).max(1)),
        })
    }

    /// Runs a query for `access`'s caller: only documents they may read are found, counted and
    /// paged. Results whose `location` has a scheme other than http(s) are dropped.
    pub fn query(&self, access: &Access, query: &SearchQuery) -> Result<SearchResultSet, SearchError> {
        let readable = match &self.read_permission {
            Some(permission) if access.enforces() => permission.readable(access),
            _ => None,
        };
        let mut set = engine::search(&self.index, query, &self.types, &self.tags, readable.as_ref())?;
        set.results.retain(|result| {
            let location = result.document.get("location").and_then(Value::as_str).unwrap_or_default();
            let safe = is_web_location(location);
            if !safe {
                tracing::info!(location, "search result with an unsafe location dropped");
            }
            safe
        });
        Ok(set)
    }
}

/// Whether a location, resolved against an https base, stays http(s).
fn is_web_location(location: &str) -> bool {
    let trimmed = location.trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    let end = trimmed.find([':', '/', '?', '#']);
    match end {
        Some(i) if trimmed[i..].starts_with(':') => {
            let scheme = trimmed[..i].to_ascii_lowercase();
            // The URL parser drops tabs and newlines inside a scheme (`java\tscript:`).
            let scheme: String = scheme.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
            let is_scheme = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            !is_scheme || scheme == "http" || scheme == "https"
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_locations_are_safe() {
        assert!(is_web_location("/catalog/default/component/x"));
        assert!(is_web_location("https://example.com/a"));
        assert!(!is_web_location("javascript:alert(1)"));
        assert!(!is_web_location(" JavaScript:alert(1)"));
        assert!(!is_web_location("data:text/html,x"));
    }
}
