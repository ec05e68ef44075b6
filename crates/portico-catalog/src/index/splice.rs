//! The legacy relation `target` objects (Backstage's relation compatibility shape), added to a
//! stored entity body by splicing text rather than by parsing and re-serializing it.
//!
//! When an entity is indexed, its compact JSON body is scanned once for the `relations` array;
//! for every relation object that has a string `targetRef` and no `target`, the byte offset of
//! the object's closing brace and the span of the `targetRef` text are remembered. Serving the
//! compatibility shape is then a matter of copying the body and inserting
//! `,"target":{"kind":…,"namespace":…,"name":…}` at those offsets.

use std::fmt::Write as _;

/// One relation object to extend: insert the target object before byte `at` (its closing
/// brace), parsed from the raw (still JSON-escaped) `targetRef` text at `ref_start..ref_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Splice {
    at: u32,
    ref_start: u32,
    ref_end: u32,
}

/// The splices of a body; empty when it has no relation to extend (or is not a JSON object).
pub(crate) fn relation_splices(body: &str) -> Vec<Splice> {
    let mut scanner = Scanner { bytes: body.as_bytes(), pos: 0 };
    scanner.top_level().unwrap_or_default()
}

/// Writes `body` with the splices applied to `out`.
pub(crate) fn write_with_targets(body: &str, splices: &[Splice], out: &mut String) {
    let mut from = 0;
    for splice in splices {
        let at = splice.at as usize;
        out.push_str(&body[from..at]);
        let raw = &body[splice.ref_start as usize..splice.ref_end as usize];
        write_target(raw, out);
        from = at;
    }
    out.push_str(&body[from..]);
}

/// Writes `,"target":{…}` for a raw `targetRef` string body; writes nothing if the ref does not
/// parse (Backstage would fail the whole request; leaving the relation as stored is kinder).
fn write_target(raw: &str, out: &mut String) {
    if raw.contains('\\') {
        let Ok(decoded) = serde_json::from_str::<String>(&format!("\"{raw}\"")) else {
            return;
        };
        if let Some((kind, namespace, name)) = parse_ref(&decoded) {
            let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
            let _ = write!(
                out,
                ",\"target\":{{\"kind\":{},\"namespace\":{},\"name\":{}}}",
                quote(kind),
                quote(namespace),
                quote(name)
            );
        }
    } else if let Some((kind, namespace, name)) = parse_ref(raw) {
        // Without escapes the raw text is itself valid JSON string content, and so is any
        // slice of it cut at ':' or '/'.
        let _ = write!(
            out,
            ",\"target\":{{\"kind\":\"{kind}\",\"namespace\":\"{namespace}\",\"name\":\"{name}\"}}"
        );
    }
}

/// Backstage's `parseEntityRef` without defaults: `kind:[namespace/]name`, namespace defaulting
/// to `default`; `None` when the kind is missing or any present part is empty.
pub(crate) fn parse_ref(text: &str) -> Option<(&str, &str, &str)> {
    let colon = text.find(':');
    let slash = text.find('/');
    // A slash before the first colon means there is no kind.
    let colon = match (colon, slash) {
        (Some(c), Some(s)) if s < c => None,
        (c, _) => c,
    }?;
    let kind = &text[..colon];
    let rest = &text[colon + 1..];
    let (namespace, name) = match rest.find('/') {
        Some(s) => (&rest[..s], &rest[s + 1..]),
        None => ("default", rest),
    };
    if kind.is_empty() || namespace.is_empty() || name.is_empty() {
        return None;
    }
    Some((kind, namespace, name))
}

/// A minimal JSON scanner: it only skips values and reads object keys, which is all the
/// splice search needs. Malformed input ends the scan (`None`).
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Skips a string starting at the current quote; returns the span of its raw content.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.bytes.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some((start, self.pos - 1));
                }
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
    }

    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.object(|_, _, s| s.value()),
            b'[' => self.array(|s| s.value()),
            _ => {
                while let Some(b) = self.bytes.get(self.pos) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// Walks an object; `member` is called with the raw key span and must consume the value.
    /// Returns the offset of the closing brace.
    fn object(
        &mut self,
        mut member: impl FnMut(&[u8], (usize, usize), &mut Self) -> Option<()>,
    ) -> Option<()> {
        self.object_end(&mut member).map(|_| ())
    }

    fn object_end(
        &mut self,
        member: &mut impl FnMut(&[u8], (usize, usize), &mut Self) -> Option<()>,
    ) -> Option<usize> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(self.pos - 1);
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            let bytes = self.bytes;
            member(bytes, key, self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(self.pos - 1);
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn top_level(&mut self) -> Option<Vec<Splice>> {
        let mut splices = Vec::new();
        self.object(|bytes, (ks, ke), s| {
            if &bytes[ks..ke] != b"relations" || s.peek()? != b'[' {
                return s.value();
            }
            s.array(|s| {
                if s.peek()? != b'{' {
                    return s.value();
                }
                let mut target_ref = None;
                let mut has_target = false;
                let end = s.object_end(&mut |bytes, (ks, ke), s: &mut Scanner<'_>| {
                    match &bytes[ks..ke] {
                        b"targetRef" if s.peek()? == b'"' => target_ref = Some(s.string()?),
                        b"target" => {
                            has_target = true;
                            s.value()?;
                        }
                        _ => s.value()?,
                    }
                    Some(())
                })?;
                if let (Some((start, stop)), false) = (target_ref, has_target) {
                    splices.push(Splice { at: end as u32, ref_start: start as u32, ref_end: stop as u32 });
                }
                Some(())
            })
        })?;
        Some(splices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(body: &str) -> String {
        let mut out = String::new();
        write_with_targets(body, &relation_splices(body), &mut out);
        out
    }

    #[test]
    fn adds_target_objects_after_target_ref() {
        let body = r#"{"kind":"Component","relations":[{"type":"ownedBy","targetRef":"group:default/team-a"},{"targetRef":"component:ns/a/b","type":"partOf"}],"spec":{"x":[1,{"relations":[]}]}}"#;
        let expanded: serde_json::Value = serde_json::from_str(&expand(body)).expect("valid json");
        assert_eq!(
            expanded["relations"][0],
            serde_json::json!({"type":"ownedBy","targetRef":"group:default/team-a",
                "target":{"kind":"group","namespace":"default","name":"team-a"}})
        );
        assert_eq!(
            expanded["relations"][1]["target"],
            serde_json::json!({"kind":"component","namespace":"ns","name":"a/b"})
        );
        assert_eq!(expanded["spec"], serde_json::json!({"x":[1,{"relations":[]}]}));
    }

    #[test]
    fn keeps_existing_targets_and_handles_escapes_and_whitespace() {
        let body = "{ \"relations\" : [ {\"type\":\"a\",\"targetRef\":\"k:n/x\",\"target\":{\"kind\":\"k\"}} , {\"type\":\"b\",\"targetRef\":\"k:n/q\\\"x\"} ] }";
        let expanded: serde_json::Value = serde_json::from_str(&expand(body)).expect("valid json");
        assert_eq!(expanded["relations"][0]["target"], serde_json::json!({"kind":"k"}));
        assert_eq!(expanded["relations"][1]["target"]["name"], "q\"x");
    }

    #[test]
    fn parse_ref_follows_backstage_rules() {
        assert_eq!(parse_ref("component:default/a/b"), Some(("component", "default", "a/b")));
        assert_eq!(parse_ref("component:a"), Some(("component", "default", "a")));
        assert_eq!(parse_ref("ns/x:y"), None);
        assert_eq!(parse_ref("k:/x"), None);
        assert_eq!(parse_ref(":x"), None);
    }

    #[test]
    fn bodies_without_relations_are_unchanged() {
        for body in ["{}", "{\"relations\":[]}", "[1]", "{\"relations\":[{}]}", "not json"] {
            assert_eq!(expand(body), body);
        }
    }
}
