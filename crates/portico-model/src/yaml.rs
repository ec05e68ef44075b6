//! Multi-document YAML streams turned into JSON values that remember where they came from.
//!
//! Descriptor files (`catalog-info.yaml`, `template.yaml`, …) are YAML streams of several
//! documents. Backstage parses them with the `yaml` package (YAML 1.2 core schema) and turns each
//! document into plain JSON; this module does the same with three extra guarantees:
//!
//! * **Isolation** — the stream is cut into documents at `---` / `...` markers *before* parsing,
//!   so a syntax error in one document never hides the documents around it. Positions are shifted
//!   back to absolute lines of the original text.
//! * **Positions** — every mapping key and sequence item keeps its line and column, so callers can
//!   point at `spec.owner` rather than at the whole file ([`YamlDocument::position_of`]).
//! * **Bounded cost** — aliases are never copied while parsing; the size and depth a document
//!   would have once aliases are expanded is tracked per node and checked against
//!   [`YamlLimits`], so an alias bomb fails in time proportional to its *text*, not its expansion.
//!
//! Like Backstage, merge keys (`<<`) are not applied: they stay an ordinary key. Duplicate keys in
//! one mapping are an error, as they are for the `yaml` package.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

/// A 1-based line and column in the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number (in characters), starting at 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

/// Bounds on what one document may cost once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlLimits {
    /// Maximum number of nodes (scalars, sequences, mappings) of one document *after* alias
    /// expansion. Guards against "billion laughs" documents.
    pub max_nodes: usize,
    /// Maximum nesting depth of one document, also after alias expansion. Conversion recurses
    /// once per level, so this also bounds stack use.
    pub max_depth: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits { max_nodes: 1_000_000, max_depth: 256 }
    }
}

/// A document that could not be parsed (syntax error or a limit exceeded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Human-readable text, e.g. `YAML error at line 3 column 7: mapping values are not allowed
    /// in this context`. It names no file: callers prefix their own location.
    pub message: String,
    /// Where the problem was detected, in absolute lines of the whole stream.
    pub position: Option<Position>,
}

impl YamlError {
    fn at(position: Position, what: impl fmt::Display) -> Self {
        YamlError { message: format!("YAML error at {position}: {what}"), position: Some(position) }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for YamlError {}

/// One parsed, non-empty document of a stream.
#[derive(Debug, Clone)]
pub struct YamlDocument {
    /// The document as JSON. Not necessarily an object: callers decide what a non-mapping root
    /// means (Backstage reports `Expected object at root, got <type>`).
    pub value: Value,
    /// Where the document starts (its `---` marker, or its first token).
    pub start: Position,
    nodes: Vec<Node>,
    root: NodeId,
}

impl YamlDocument {
    /// Position of the element at a JSON path such as `["spec", "owner"]` or
    /// `["metadata", "tags", "2"]`: the key for mapping entries, the item itself for sequence
    /// items. When the path does not fully exist, the position of the deepest existing ancestor
    /// is returned (the document start for an empty path or a missing first segment).
    pub fn position_of(&self, path: &[&str]) -> Option<Position> {
        let mut position = self.start;
        let mut current = self.root;
        for segment in path {
            let next = match &self.nodes[self.resolve(current)].kind {
                NodeKind::Map(entries) => {
                    entries.iter().find(|e| e.key == *segment).map(|e| (e.key_position, e.value))
                }
                NodeKind::Seq(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|item| (item.position, item.node)),
                NodeKind::Scalar(_) | NodeKind::Alias(_) => None,
            };
            match next {
                Some((found, node)) => {
                    position = found;
                    current = node;
                }
                None => break,
            }
        }
        Some(position)
    }

    /// Follows an alias to the node it names (aliases never point at aliases).
    fn resolve(&self, id: NodeId) -> NodeId {
        match self.nodes[id].kind {
            NodeKind::Alias(target) => target,
            _ => id,
        }
    }
}

/// Parses every document of a YAML stream.
///
/// Returns one entry per non-empty document, in order: the parsed document or the error that
/// stopped it. Documents that are empty or `null` are skipped. A broken document does not affect
/// the others.
pub fn parse_documents(text: &str, limits: &YamlLimits) -> Vec<Result<YamlDocument, YamlError>> {
    let mut out = Vec::new();
    for chunk in split_stream(text) {
        parse_chunk(chunk, limits, &mut out);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Stream splitting

/// A slice of the stream holding (at most) one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk<'a> {
    text: &'a str,
    /// Number of lines of the stream before this chunk.
    line_offset: usize,
}

/// `---` or `...` at column 1, followed by whitespace or the end of the line.
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

/// Cuts the stream at document markers. YAML forbids a marker at the start of a line inside any
/// content (block scalars and quoted strings included), so a line-based cut is exact.
fn split_stream(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 0;
    // Whether the current chunk holds anything beyond blank lines, comments and directives.
    // Directives (`%YAML 1.2`) precede the `---` of their document, so a marker that follows only
    // such lines belongs to the same chunk.
    let mut has_content = false;
    let mut byte = 0;
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        let line = if index == 0 { raw_line.trim_start_matches('\u{feff}') } else { raw_line };
        if is_marker(line, "---") {
            if has_content {
                chunks.push(Chunk { text: &text[start_byte..byte], line_offset: start_line });
                start_byte = byte;
                start_line = index;
            }
            has_content = true;
        } else if is_marker(line, "...") {
            let end = byte + raw_line.len();
            chunks.push(Chunk { text: &text[start_byte..end], line_offset: start_line });
            start_byte = end;
            start_line = index + 1;
            has_content = false;
        } else {
            let trimmed = line.trim_start();
            if !(trimmed.is_empty() || trimmed.starts_with('#') || line.starts_with('%')) {
                has_content = true;
            }
        }
        byte += raw_line.len();
    }
    if start_byte < text.len() {
        chunks.push(Chunk { text: &text[start_byte..], line_offset: start_line });
    }
    chunks
}

// ---------------------------------------------------------------------------------------------
// Node tree

type NodeId = usize;

#[derive(Debug, Clone)]
struct Node {
    kind: NodeKind,
    /// Number of nodes once aliases are expanded (saturating).
    size: usize,
    /// Nesting depth once aliases are expanded (a scalar is 1).
    height: usize,
}

#[derive(Debug, Clone)]
enum NodeKind {
    Scalar(Value),
    Seq(Vec<Item>),
    Map(Vec<Entry>),
    /// Refers to a completed, anchored node; expanded only when converting to JSON.
    Alias(NodeId),
}

#[derive(Debug, Clone)]
struct Item {
    node: NodeId,
    position: Position,
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    key_position: Position,
    value: NodeId,
}

/// A sequence or mapping whose end has not been seen yet.
struct Open {
    anchor: usize,
    /// Where the collection starts; it is the position of the collection as a sequence item.
    start: Position,
    kind: OpenKind,
}

enum OpenKind {
    Seq(Vec<Item>),
    Map { entries: Vec<Entry>, seen: HashSet<String>, pending_key: Option<(String, Position)> },
}

/// Builds the documents of one chunk from parser events.
struct Builder<'a> {
    limits: &'a YamlLimits,
    line_offset: usize,
    nodes: Vec<Node>,
    stack: Vec<Open>,
    anchors: HashMap<usize, NodeId>,
    root: Option<NodeId>,
    start: Position,
}

fn parse_chunk(chunk: Chunk<'_>, limits: &YamlLimits, out: &mut Vec<Result<YamlDocument, YamlError>>) {
    let mut builder = Builder {
        limits,
        line_offset: chunk.line_offset,
        nodes: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        start: Position { line: chunk.line_offset + 1, column: 1 },
    };
    let mut parser = Parser::new_from_str(chunk.text);
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(error) => {
                out.push(Err(builder.scan_error(&error)));
                return;
            }
        };
        let result = match event {
            // The parser must not be polled past the end of the stream.
            Event::StreamEnd => return,
            other => builder.on_event(other, mark),
        };
        match result {
            Ok(Some(document)) => out.push(Ok(document)),
            Ok(None) => {}
            Err(error) => {
                out.push(Err(error));
                return;
            }
        }
    }
}

impl Builder<'_> {
    fn position(&self, mark: Marker) -> Position {
        Position { line: mark.line() + self.line_offset, column: mark.col() + 1 }
    }

    fn scan_error(&self, error: &ScanError) -> YamlError {
        YamlError::at(self.position(*error.marker()), error.info())
    }

    /// Handles one event; returns a finished, non-empty document at its end.
    fn on_event(&mut self, event: Event, mark: Marker) -> Result<Option<YamlDocument>, YamlError> {
        let position = self.position(mark);
        match event {
            Event::DocumentStart => {
                self.nodes.clear();
                self.anchors.clear();
                self.root = None;
                self.start = position;
            }
            Event::DocumentEnd => return Ok(self.finish_document()),
            Event::SequenceStart(anchor, _) => self.open(anchor, OpenKind::Seq(Vec::new()), position)?,
            Event::MappingStart(anchor, _) => self.open(
                anchor,
                OpenKind::Map { entries: Vec::new(), seen: HashSet::new(), pending_key: None },
                position,
            )?,
            Event::SequenceEnd | Event::MappingEnd => self.close(position)?,
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve_scalar(text, style, tag.as_ref());
                let id = self.push(NodeKind::Scalar(value), 1, 1, position)?;
                self.complete(id, anchor, position)?;
            }
            Event::Alias(anchor) => {
                // The parser rejects unknown anchors; a miss here means the alias names a node
                // that is still open, i.e. the node would contain itself.
                let target = *self.anchors.get(&anchor).ok_or_else(|| {
                    YamlError::at(position, "alias refers to a node that contains it (recursive alias)")
                })?;
                let (size, height) = (self.nodes[target].size, self.nodes[target].height);
                let id = self.push(NodeKind::Alias(target), size, height, position)?;
                self.complete(id, 0, position)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(None)
    }

    fn open(&mut self, anchor: usize, kind: OpenKind, position: Position) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::at(
                position,
                format_args!("document nests deeper than the limit of {} levels", self.limits.max_depth),
            ));
        }
        self.stack.push(Open { anchor, start: position, kind });
        Ok(())
    }

    fn close(&mut self, position: Position) -> Result<(), YamlError> {
        let Some(open) = self.stack.pop() else {
            return Err(YamlError::at(position, "unexpected end of collection"));
        };
        let (kind, children): (NodeKind, Vec<NodeId>) = match open.kind {
            OpenKind::Seq(items) => {
                let children = items.iter().map(|i| i.node).collect();
                (NodeKind::Seq(items), children)
            }
            OpenKind::Map { entries, .. } => {
                let children = entries.iter().map(|e| e.value).collect();
                (NodeKind::Map(entries), children)
            }
        };
        let size = children.iter().fold(1usize, |acc, &child| acc.saturating_add(self.nodes[child].size));
        let height = 1 + children.iter().map(|&child| self.nodes[child].height).max().unwrap_or(0);
        let id = self.push(kind, size, height, open.start)?;
        self.complete(id, open.anchor, open.start)
    }

    /// Adds a node to the arena after checking the limits against its expanded cost.
    fn push(
        &mut self,
        kind: NodeKind,
        size: usize,
        height: usize,
        position: Position,
    ) -> Result<NodeId, YamlError> {
        if size > self.limits.max_nodes {
            return Err(YamlError::at(
                position,
                format_args!(
                    "document expands to more than the limit of {} nodes (too many aliases?)",
                    self.limits.max_nodes
                ),
            ));
        }
        // Nodes already on the stack sit above this one once it is attached.
        if height.saturating_add(self.stack.len()) > self.limits.max_depth {
            return Err(YamlError::at(
                position,
                format_args!("document nests deeper than the limit of {} levels", self.limits.max_depth),
            ));
        }
        self.nodes.push(Node { kind, size, height });
        Ok(self.nodes.len() - 1)
    }

    /// Registers a completed node's anchor and attaches the node to its parent.
    fn complete(&mut self, id: NodeId, anchor: usize, position: Position) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        let key_text = match self.stack.last() {
            Some(Open { kind: OpenKind::Map { pending_key: None, .. }, .. }) => Some(self.key_string(id)),
            _ => None,
        };
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(id);
            return Ok(());
        };
        match &mut parent.kind {
            OpenKind::Seq(items) => items.push(Item { node: id, position }),
            OpenKind::Map { entries, seen, pending_key } => match (pending_key.take(), key_text) {
                (Some((key, key_position)), _) => entries.push(Entry { key, key_position, value: id }),
                (None, Some(key)) => {
                    if !seen.insert(key.clone()) {
                        return Err(YamlError::at(
                            position,
                            format_args!("Map keys must be unique; {key:?} is repeated"),
                        ));
                    }
                    *pending_key = Some((key, position));
                }
                (None, None) => {}
            },
        }
        Ok(())
    }

    /// The JSON object key for a mapping key node, stringified like the `yaml` package does.
    fn key_string(&self, id: NodeId) -> String {
        match to_json(&self.nodes, id) {
            Value::String(s) => s,
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            complex => complex.to_string(),
        }
    }

    fn finish_document(&mut self) -> Option<YamlDocument> {
        let root = self.root.take()?;
        let value = to_json(&self.nodes, root);
        if value.is_null() {
            return None;
        }
        Some(YamlDocument { value, start: self.start, nodes: std::mem::take(&mut self.nodes), root })
    }
}

/// Converts a node to JSON, expanding aliases. Recursion depth is bounded by the node's height,
/// which [`Builder::push`] checked against the depth limit.
fn to_json(nodes: &[Node], id: NodeId) -> Value {
    match &nodes[id].kind {
        NodeKind::Scalar(value) => value.clone(),
        NodeKind::Alias(target) => to_json(nodes, *target),
        NodeKind::Seq(items) => Value::Array(items.iter().map(|i| to_json(nodes, i.node)).collect()),
        NodeKind::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for entry in entries {
                map.insert(entry.key.clone(), to_json(nodes, entry.value));
            }
            Value::Object(map)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scalars (YAML 1.2 core schema, as used by Backstage's `yaml` package)

const CORE_TAG_HANDLE: &str = "tag:yaml.org,2002:";

fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag.filter(|t| t.handle == CORE_TAG_HANDLE) {
        let resolved = match tag.suffix.as_str() {
            "str" => return Value::String(text),
            "null" => resolve_null(&text),
            "bool" => resolve_bool(&text),
            "int" => resolve_int(&text),
            "float" => resolve_float(&text).or_else(|| resolve_int(&text)),
            _ => None,
        };
        return resolved.unwrap_or(Value::String(text));
    }
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    resolve_null(&text)
        .or_else(|| resolve_bool(&text))
        .or_else(|| resolve_int(&text))
        .or_else(|| resolve_float(&text))
        .unwrap_or(Value::String(text))
}

fn resolve_null(text: &str) -> Option<Value> {
    matches!(text, "" | "~" | "null" | "Null" | "NULL").then_some(Value::Null)
}

fn resolve_bool(text: &str) -> Option<Value> {
    match text {
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => None,
    }
}

fn resolve_int(text: &str) -> Option<Value> {
    let radix = |digits: &str, radix: u32| {
        if digits.is_empty() {
            return None;
        }
        i64::from_str_radix(digits, radix).ok().map(|i| Value::Number(i.into()))
    };
    if let Some(hex) = text.strip_prefix("0x") {
        return radix(hex, 16);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return radix(octal, 8);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match text.parse::<i64>() {
        Ok(i) => Some(Value::Number(i.into())),
        // Beyond 64 bits: JavaScript would hold it as a float, so do the same.
        Err(_) => text.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number),
    }
}

fn resolve_float(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        // JSON has no infinities or NaN; JSON.stringify writes them as null.
        return Some(Value::Null);
    }
    let plausible = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if !plausible {
        return None;
    }
    let float = text.parse::<f64>().ok()?;
    // JavaScript has one number type: `1.0` is the integer 1 once serialized.
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if float.fract() == 0.0 && float.abs() <= MAX_SAFE_INTEGER {
        return Some(Value::Number((float as i64).into()));
    }
    Number::from_f64(float).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Vec<Result<YamlDocument, YamlError>> {
        parse_documents(text, &YamlLimits::default())
    }

    fn ok_values(text: &str) -> Vec<Value> {
        parse(text).into_iter().map(|r| r.expect("document parses").value).collect()
    }

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn splits_at_markers_and_respects_directives() {
        let text = "%YAML 1.2\n---\na: 1\n---\nb: 2\n...\n# trailing\n---\nc: 3\n";
        let chunks = split_stream(text);
        let offsets: Vec<usize> = chunks.iter().map(|c| c.line_offset).collect();
        assert_eq!(offsets, vec![0, 3, 6]);
        assert!(chunks[0].text.starts_with("%YAML"));
        assert_eq!(ok_values(text), vec![json!({"a": 1}), json!({"b": 2}), json!({"c": 3})]);
    }

    #[test]
    fn marker_needs_column_one_and_a_separator() {
        assert!(is_marker("---\n", "---"));
        assert!(is_marker("--- !tag\n", "---"));
        assert!(is_marker("---", "---"));
        assert!(!is_marker("----\n", "---"));
        assert!(!is_marker(" ---\n", "---"));
        assert!(!is_marker("---x\n", "---"));
    }

    #[test]
    fn broken_document_in_the_middle_keeps_the_others() {
        let text = "kind: A\n---\nkind: B\nbad: [unclosed\n---\nkind: C\n";
        let results = parse(text);
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().expect("first").value, json!({"kind": "A"}));
        let error = results[1].as_ref().expect_err("second is broken");
        let position = error.position.expect("error has a position");
        assert!(position.line >= 4, "error is reported in absolute lines: {position:?}");
        assert!(error.message.starts_with(&format!("YAML error at line {} column", position.line)));
        let third = results[2].as_ref().expect("third");
        assert_eq!(third.value, json!({"kind": "C"}));
        assert_eq!(third.start, pos(5, 1));
        assert_eq!(third.position_of(&["kind"]), Some(pos(6, 1)));
    }

    #[test]
    fn syntax_error_position_is_exact() {
        let text = "a: 1\n---\nkey: value\nother: x: y\n";
        let results = parse(text);
        let error = results[1].as_ref().expect_err("bad mapping");
        assert_eq!(error.position, Some(pos(4, 9)));
        assert_eq!(
            error.message,
            "YAML error at line 4 column 9: mapping values are not allowed in this context"
        );
    }

    #[test]
    fn empty_and_null_documents_are_skipped() {
        let values = ok_values("---\n---\n# only a comment\n---\nnull\n---\n~\n---\na: 1\n---\n");
        assert_eq!(values, vec![json!({"a": 1})]);
        assert!(parse("").is_empty());
    }

    #[test]
    fn non_mapping_roots_are_returned() {
        assert_eq!(
            ok_values("- a\n- b\n---\nhello\n---\n42\n"),
            vec![json!(["a", "b"]), json!("hello"), json!(42)]
        );
    }

    #[test]
    fn positions_of_nested_keys_and_items() {
        let text = "\
apiVersion: v1
metadata:
  name: x
  tags:
    - a
    - b
    - c
spec:
  owner: team
";
        let docs = parse(text);
        let doc = docs[0].as_ref().expect("parses");
        assert_eq!(doc.position_of(&["metadata", "name"]), Some(pos(3, 3)));
        assert_eq!(doc.position_of(&["metadata", "tags", "2"]), Some(pos(7, 7)));
        assert_eq!(doc.position_of(&["spec", "owner"]), Some(pos(9, 3)));
        // Missing leaves fall back to the nearest existing ancestor.
        assert_eq!(doc.position_of(&["spec", "lifecycle"]), Some(pos(8, 1)));
        assert_eq!(doc.position_of(&["metadata", "tags", "9"]), Some(pos(4, 3)));
        assert_eq!(doc.position_of(&["metadata", "name", "deeper"]), Some(pos(3, 3)));
        assert_eq!(doc.position_of(&[]), Some(doc.start));
    }

    #[test]
    fn positions_follow_aliases() {
        let text = "base: &b\n  x: 1\ncopy: *b\n";
        let docs = parse(text);
        let doc = docs[0].as_ref().expect("parses");
        assert_eq!(doc.value, json!({"base": {"x": 1}, "copy": {"x": 1}}));
        assert_eq!(doc.position_of(&["copy", "x"]), Some(pos(2, 3)));
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let text = "\
i: 12
neg: -3
hex: 0x1F
oct: 0o17
f: 1.5
whole: 2.0
e: 1e3
t: True
n: NULL
empty:
s: '12'
y: yes
tagged: !!str 7
ver: 1.2.3
under: 1_000
inf: .inf
";
        assert_eq!(
            ok_values(text)[0],
            json!({
                "i": 12, "neg": -3, "hex": 31, "oct": 15, "f": 1.5, "whole": 2, "e": 1000,
                "t": true, "n": null, "empty": null, "s": "12", "y": "yes", "tagged": "7",
                "ver": "1.2.3", "under": "1_000", "inf": null
            })
        );
    }

    #[test]
    fn non_string_keys_are_stringified() {
        assert_eq!(
            ok_values("1: a\ntrue: b\n~: c\n? [x, y]\n: d\n")[0],
            json!({"1": "a", "true": "b", "": "c", "[\"x\",\"y\"]": "d"})
        );
    }

    #[test]
    fn merge_keys_are_not_merged() {
        let value = &ok_values("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\n")[0];
        assert_eq!(value["thing"], json!({"<<": {"x": 1}, "y": 2}));
    }

    #[test]
    fn duplicate_keys_are_an_error() {
        let results = parse("a: 1\nb: 2\na: 3\n");
        let error = results[0].as_ref().expect_err("duplicate key");
        assert_eq!(error.position, Some(pos(3, 1)));
        assert!(error.message.contains("Map keys must be unique"), "{}", error.message);
    }

    #[test]
    fn alias_bomb_is_rejected_quickly() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..=12 {
            let prev = i - 1;
            let refs = vec![format!("*a{prev}"); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let results = parse(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let error = results[0].as_ref().expect_err("bomb rejected");
        assert!(error.message.contains("limit of 1000000 nodes"), "{}", error.message);
        assert!(error.position.is_some());
    }

    #[test]
    fn node_limit_is_configurable() {
        let limits = YamlLimits { max_nodes: 5, ..YamlLimits::default() };
        assert!(parse_documents("[1, 2, 3]", &limits)[0].is_ok());
        assert!(parse_documents("[1, 2, 3, 4, 5]", &limits)[0].is_err());
    }

    #[test]
    fn deep_nesting_is_rejected() {
        // Flow collections also hit the parser's own recursion guard; either way it is an error.
        let deep_flow = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep_flow)[0].is_err());

        let deep_block: String = (0..300).map(|level| format!("{}k:\n", "  ".repeat(level))).collect();
        let results = parse(&deep_block);
        let error = results[0].as_ref().expect_err("too deep");
        assert!(error.message.contains("deeper than the limit of 256 levels"), "{}", error.message);
        // 256 nested mappings fill the budget; the key inside the innermost one is level 257.
        assert_eq!(error.position.map(|p| p.line), Some(256));

        let limits = YamlLimits { max_depth: 3, ..YamlLimits::default() };
        assert!(parse_documents("a: {b: c}", &limits)[0].is_ok());
        assert!(parse_documents("a: {b: {c: d}}", &limits)[0].is_err());
        // Depth reached through an alias counts too.
        assert!(parse_documents("x: &x {b: c}\ny: {z: *x}", &limits)[0].is_err());
    }

    #[test]
    fn recursive_alias_is_an_error() {
        let results = parse("a: &a [1, *a]\n");
        assert!(results[0].is_err());
    }

    #[test]
    fn json_input_parses() {
        let text = "{\n  \"apiVersion\": \"backstage.io/v1alpha1\",\n  \"kind\": \"Component\",\n  \"metadata\": {\"name\": \"x\", \"tags\": [\"a\", 1, false, null]}\n}\n";
        let docs = parse(text);
        let doc = docs[0].as_ref().expect("json parses");
        assert_eq!(
            doc.value,
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                   "metadata": {"name": "x", "tags": ["a", 1, false, null]}})
        );
        assert_eq!(doc.position_of(&["metadata", "name"]).map(|p| p.line), Some(4));
    }

    #[test]
    fn block_scalar_content_is_kept_and_crlf_works() {
        let values = ok_values("a: |\n  --- not a marker\n  text\n---\nb: 1\r\n");
        assert_eq!(values, vec![json!({"a": "--- not a marker\ntext\n"}), json!({"b": 1})]);
    }
}
