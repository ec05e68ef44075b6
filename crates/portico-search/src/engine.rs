//! Running a search: the user's term becomes a tantivy query built from tokens (never parsed
//! as query syntax, so no input is a syntax error), with filters and types as clauses of the
//! same query and read permission applied while matches are collected, so paging counts only
//! documents the caller may see.
//!
//! Scoring is tiered so that the order is predictable: the whole term equal to a name scores
//! 1000; tokens are alternatives, as in Backstage's engines (a document matching more of them
//! scores higher), and each token adds, per field (title ×10, text ×1), 4 for an exact token, 2 for a
//! prefix and 1 for a prefix within one edit. Any title match thus outranks any description
//! match; BM25 on the title (×0.1) breaks ties in favour of closer titles.

use std::collections::BTreeMap;
use std::ops::Range;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, TantivyDocument, Term};

use crate::api::ReadableRef;
use crate::index::{SearchError, SearchIndex, facet_term, scalar_text};
use crate::readable::ReadableOnly;

/// Backstage engines' default page size.
pub const DEFAULT_PAGE_LIMIT: usize = 25;
/// Tokens of a term that are searched; the rest are ignored.
const MAX_TOKENS: usize = 12;
/// Field boosts.
const TITLE_BOOST: f32 = 10.0;
const TEXT_BOOST: f32 = 1.0;
/// Characters of text around a highlight.
const TEXT_SNIPPET_CHARS: usize = 200;

/// A validated query.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub term: String,
    /// Document types to search; empty means every registered type.
    pub types: Vec<String>,
    /// Top-level field → wanted value (scalar, or an array meaning any of).
    pub filters: Map<String, Value>,
    pub page: usize,
    pub page_limit: usize,
}

/// One result, in Backstage's shape.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    #[serde(rename = "type")]
    pub document_type: String,
    pub document: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Highlight>,
    pub rank: usize,
}

/// Matched parts of a result's fields, wrapped in the tags.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Highlight {
    pub pre_tag: String,
    pub post_tag: String,
    pub fields: BTreeMap<String, String>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResultSet {
    pub results: Vec<SearchResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_page_cursor: Option<String>,
    pub number_of_results: usize,
}

/// Backstage's page cursor: base64 of the decimal page number.
pub fn encode_cursor(page: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(page.to_string())
}

/// The page a cursor names; `None` when it is not one of ours.
pub fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(cursor.trim()).ok()?;
    String::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// The highlight tags: random per process, like Backstage's engines, so that text containing
/// tag-like strings cannot fake a highlight.
pub fn highlight_tags() -> (String, String) {
    let nonce = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 1u8);
    (format!("<mark-{nonce:016x}>"), format!("</mark-{nonce:016x}>"))
}

/// Searches the index. `types` maps each searchable type to its boost; with `readable`, only
/// documents whose resource ref it allows (or that have none) are found.
pub fn search(
    index: &SearchIndex,
    query: &SearchQuery,
    types: &[(String, f32)],
    tags: &(String, String),
    readable: Option<&ReadableRef>,
) -> Result<SearchResultSet, SearchError> {
    let generation = index.current();
    let searcher = generation.reader.searcher();
    let fields = index.fields;
    let tokens = tokenize(&generation.index, fields.title, &query.term)?;
    let core = core_query(&fields, &query.term, &tokens);
    let filters = filter_queries(&fields, &query.filters);
    let per_type: Vec<(Occur, Box<dyn Query>)> = types
        .iter()
        .filter(|(t, _)| query.types.is_empty() || query.types.contains(t))
        .map(|(document_type, boost)| {
            let mut must: Vec<(Occur, Box<dyn Query>)> = vec![
                (
                    Occur::Must,
                    zero(TermQuery::new(
                        Term::from_field_text(fields.doc_type, document_type),
                        IndexRecordOption::Basic,
                    )),
                ),
                (Occur::Must, core.box_clone()),
            ];
            must.extend(filters.iter().map(|f| (Occur::Must, f.box_clone())));
            let typed: Box<dyn Query> = Box::new(BooleanQuery::new(must));
            (Occur::Should, Box::new(BoostQuery::new(typed, *boost)) as Box<dyn Query>)
        })
        .collect();
    let full: Box<dyn Query> =
        if per_type.is_empty() { Box::new(EmptyQuery) } else { Box::new(BooleanQuery::new(per_type)) };
    let limit = query.page_limit.max(1);
    let offset = query.page.saturating_mul(limit);
    let page_and_count = (TopDocs::with_limit(limit).and_offset(offset).order_by_score(), Count);
    let (top, total) = match readable {
        None => searcher.search(&full, &page_and_count)?,
        Some(readable) => searcher.search(&full, &ReadableOnly::new(page_and_count, readable.clone()))?,
    };
    let title_snippets = snippet_generator(&searcher, fields.title, &tokens, usize::MAX)?;
    let text_snippets = snippet_generator(&searcher, fields.text, &tokens, TEXT_SNIPPET_CHARS)?;
    let mut results = Vec::with_capacity(top.len());
    for (position, (_score, address)) in top.into_iter().enumerate() {
        let doc: TantivyDocument = searcher.doc(address)?;
        let document_type =
            doc.get_first(fields.doc_type).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let Some(Value::Object(mut document)) = doc
            .get_first(fields.document)
            .and_then(|v| v.as_str())
            .and_then(|s| serde_json::from_str(s).ok())
        else {
            continue;
        };
        document.remove("authorization");
        let mut highlighted = BTreeMap::new();
        for (name, generator) in [("title", title_snippets.as_ref()), ("text", text_snippets.as_ref())] {
            let (Some(generator), Some(value)) = (generator, document.get(name).and_then(Value::as_str))
            else {
                continue;
            };
            let snippet = generator.snippet(value);
            if !snippet.highlighted().is_empty() {
                highlighted.insert(name.to_owned(), wrap(snippet.fragment(), snippet.highlighted(), tags));
            }
        }
        results.push(SearchResult {
            document_type,
            document,
            highlight: (!highlighted.is_empty()).then(|| Highlight {
                pre_tag: tags.0.clone(),
                post_tag: tags.1.clone(),
                fields: highlighted,
            }),
            rank: offset + position + 1,
        });
    }
    Ok(SearchResultSet {
        results,
        next_page_cursor: (offset + limit < total).then(|| encode_cursor(query.page + 1)),
        previous_page_cursor: (query.page > 0).then(|| encode_cursor(query.page - 1)),
        number_of_results: total,
    })
}

/// The term's tokens, as the title field's analyzer cuts and lower-cases them.
fn tokenize(index: &tantivy::Index, field: Field, term: &str) -> Result<Vec<String>, SearchError> {
    let mut analyzer = index.tokenizer_for_field(field)?;
    let mut stream = analyzer.token_stream(term);
    let mut tokens: Vec<String> = Vec::new();
    while stream.advance() {
        let token = stream.token().text.clone();
        if !tokens.contains(&token) && tokens.len() < MAX_TOKENS {
            tokens.push(token);
        }
    }
    Ok(tokens)
}

/// A query that matches like `query` and scores 0.
fn zero(query: impl Query) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

fn constant(query: impl Query, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), score))
}

/// Matching and scoring of the term.
fn core_query(fields: &crate::index::Fields, term: &str, tokens: &[String]) -> Box<dyn Query> {
    if tokens.is_empty() {
        return Box::new(AllQuery);
    }
    let mut tokens_any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for token in tokens {
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in [(fields.title, TITLE_BOOST), (fields.text, TEXT_BOOST)] {
            let t = Term::from_field_text(field, token);
            should.push((
                Occur::Should,
                constant(TermQuery::new(t.clone(), IndexRecordOption::Basic), 4.0 * boost),
            ));
            should
                .push((Occur::Should, constant(FuzzyTermQuery::new_prefix(t.clone(), 0, true), 2.0 * boost)));
            if token.chars().count() >= 3 {
                should.push((Occur::Should, constant(FuzzyTermQuery::new_prefix(t, 1, true), boost)));
            }
        }
        should.push((
            Occur::Should,
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(fields.title, token),
                    IndexRecordOption::WithFreqs,
                )),
                0.1,
            )),
        ));
        tokens_any.push((Occur::Should, Box::new(BooleanQuery::new(should))));
    }
    let matching: Box<dyn Query> = Box::new(BooleanQuery::new(tokens_any));
    let exact = constant(
        TermQuery::new(
            Term::from_field_text(fields.name, &term.trim().to_lowercase()),
            IndexRecordOption::Basic,
        ),
        1000.0,
    );
    Box::new(BooleanQuery::new(vec![(Occur::Must, matching), (Occur::Should, exact)]))
}

/// One required clause per filter; a field the document lacks matches nothing.
fn filter_queries(fields: &crate::index::Fields, filters: &Map<String, Value>) -> Vec<Box<dyn Query>> {
    let mut out = Vec::new();
    for (name, value) in filters {
        let wanted: Vec<String> = match value {
            Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
            other => scalar_text(other).into_iter().collect(),
        };
        if wanted.is_empty() {
            continue;
        }
        let any: Vec<(Occur, Box<dyn Query>)> = wanted
            .iter()
            .map(|v| {
                (Occur::Should, zero(TermQuery::new(facet_term(fields, name, v), IndexRecordOption::Basic)))
            })
            .collect();
        out.push(Box::new(BooleanQuery::new(any)) as Box<dyn Query>);
    }
    out
}

/// A snippet generator that marks the tokens matching the term's tokens (exactly, as a prefix,
/// or as a prefix within one edit) — the same rules the query matches with.
fn snippet_generator(
    searcher: &Searcher,
    field: Field,
    tokens: &[String],
    max_chars: usize,
) -> Result<Option<Matcher>, SearchError> {
    if tokens.is_empty() {
        return Ok(None);
    }
    let analyzer = searcher.index().tokenizer_for_field(field)?;
    Ok(Some(Matcher { analyzer, field, tokens: tokens.to_vec(), max_chars }))
}

/// Finds the matched words of a field value and cuts the snippet around them.
struct Matcher {
    analyzer: tantivy::tokenizer::TextAnalyzer,
    field: Field,
    tokens: Vec<String>,
    max_chars: usize,
}

impl Matcher {
    fn snippet(&self, text: &str) -> tantivy::snippet::Snippet {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut words = BTreeMap::new();
        while stream.advance() {
            let word = &stream.token().text;
            if self.tokens.iter().any(|t| matches_token(t, word)) {
                words.insert(word.clone(), 1.0);
            }
        }
        let max_chars = if self.max_chars == usize::MAX { text.len().max(1) } else { self.max_chars };
        SnippetGenerator::new(words, self.analyzer.clone(), self.field, max_chars).snippet(text)
    }
}

/// Whether a word of a document matches a token of the term the way the query does.
pub(crate) fn matches_token(token: &str, word: &str) -> bool {
    if word.starts_with(token) {
        return true;
    }
    let token: Vec<char> = token.chars().collect();
    let word: Vec<char> = word.chars().collect();
    if token.len() < 3 {
        return false;
    }
    // A prefix of the word within one edit: compare against prefixes one shorter to one longer.
    (token.len().saturating_sub(1)..=token.len() + 1)
        .filter(|&n| n <= word.len())
        .any(|n| within_one_edit(&token, &word[..n]))
}

/// Damerau–Levenshtein distance ≤ 1 (a transposition costs one, as in the fuzzy query).
fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if start == la && start == lb {
        return true;
    }
    let (ra, rb) = (&a[start..], &b[start..]);
    match la.cmp(&lb) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// The fragment with every highlighted range wrapped in the tags.
fn wrap(fragment: &str, ranges: &[Range<usize>], tags: &(String, String)) -> String {
    let mut out = String::with_capacity(fragment.len() + ranges.len() * 40);
    let mut at = 0;
    for range in ranges {
        if range.start < at || range.end > fragment.len() {
            continue;
        }
        out.push_str(&fragment[at..range.start]);
        out.push_str(&tags.0);
        out.push_str(&fragment[range.clone()]);
        out.push_str(&tags.1);
        at = range.end;
    }
    out.push_str(&fragment[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_base64_page_numbers() {
        assert_eq!(encode_cursor(1), "MQ==");
        assert_eq!(encode_cursor(0), "MA==");
        assert_eq!(decode_cursor("MQ=="), Some(1));
        assert_eq!(decode_cursor("not a cursor!"), None);
    }

    #[test]
    fn tokens_match_exactly_by_prefix_and_within_one_edit() {
        assert!(matches_token("pay", "payments"));
        assert!(matches_token("paymnets", "payments"));
        assert!(matches_token("paymenst", "payments"));
        assert!(!matches_token("pymnt", "payment"));
        assert!(matches_token("servce", "service"));
        assert!(!matches_token("ab", "ax"));
        assert!(!matches_token("billing", "payments"));
    }

    #[test]
    fn wrapping_marks_each_range() {
        let tags = ("<b>".to_owned(), "</b>".to_owned());
        assert_eq!(wrap("foo bar baz", &[0..3, 8..11], &tags), "<b>foo</b> bar <b>baz</b>");
    }
}
