//! One Markdown page to a sanitised HTML fragment, with its table of contents and search text.

use std::collections::HashSet;

use portico_web::escape;
use portico_web::highlight::{self, Language, SpanBudget};
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};
use serde::{Deserialize, Serialize};

/// Deepest nesting of block quotes and lists kept; deeper containers are flattened. Bounds the
/// cost of sanitising (the HTML parser's scope checks walk the stack of open elements).
const MAX_NESTING: usize = 64;

/// Raw HTML budget of one page: open-element depth and number of tags. Past it, the page's
/// remaining raw HTML is shown as text — HTML parsing is quadratic in nesting depth.
const MAX_RAW_HTML_DEPTH: usize = 256;
const MAX_RAW_HTML_TAGS: usize = 20_000;

/// Elements without an end tag, which add no depth.
const VOID_ELEMENTS: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"];

/// Highlighting spans one page may add; code past them is plain escaped text. Bounds the
/// markup (and the sanitiser's work) of pages that are mostly code.
const MAX_HIGHLIGHT_SPANS: usize = 200_000;

/// Deepest nesting of admonitions expanded.
const MAX_ADMONITION_DEPTH: usize = 16;

/// One heading of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    /// 1 for `#`, 2 for `##`, …
    pub level: u8,
    /// The anchor (`id` attribute) of the heading.
    pub id: String,
    /// The heading's text.
    pub title: String,
}

/// A rendered page.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The sanitised HTML body.
    pub html: String,
    /// The text of the first level-1 heading, if any.
    pub title: Option<String>,
    /// Every heading, in order.
    pub toc: Vec<TocEntry>,
    /// The page's plain text, for the search index.
    pub text: String,
    /// Whether raw HTML went over the budget and part of it was shown as text.
    pub raw_html_escaped: bool,
}

/// Tracks how deep and how large a page's raw HTML gets.
#[derive(Default)]
struct RawHtmlBudget {
    depth: usize,
    tags: usize,
    exceeded: bool,
}

impl RawHtmlBudget {
    /// Accounts for one raw HTML chunk; `false` once the page is over budget.
    fn admit(&mut self, html: &str) -> bool {
        if self.exceeded {
            return false;
        }
        let mut rest = html;
        while let Some(at) = rest.find('<') {
            rest = &rest[at + 1..];
            if let Some(closing) = rest.strip_prefix('/') {
                self.depth = self.depth.saturating_sub(1);
                rest = closing;
            } else if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
                let name: String = rest
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
                if !VOID_ELEMENTS.contains(&name.as_str()) {
                    self.depth += 1;
                }
            } else {
                continue;
            }
            self.tags += 1;
        }
        self.exceeded = self.depth > MAX_RAW_HTML_DEPTH || self.tags > MAX_RAW_HTML_TAGS;
        !self.exceeded
    }
}

/// Renders a page. `rewrite_link` receives every link and image target and returns what to
/// emit instead (it decides what is internal and reports broken links).
pub fn render(markdown: &str, rewrite_link: &mut dyn FnMut(&str) -> String) -> Rendered {
    let source = preprocess(markdown, 0);
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut out: Vec<Event> = Vec::new();
    let mut toc = Vec::new();
    let mut used_ids = HashSet::new();
    let mut text = String::new();
    // `Some` while inside a heading / code block: the events held back until its end.
    let mut heading: Option<Vec<Event>> = None;
    let mut code: Option<(String, String)> = None;
    // One entry per open container: whether its start was kept.
    let mut containers: Vec<bool> = Vec::new();
    let mut depth = 0;
    let mut budget = RawHtmlBudget::default();
    let mut highlight_budget = SpanBudget::new(MAX_HIGHLIGHT_SPANS);
    for event in Parser::new_ext(&source, options) {
        if let Some((_, body)) = &mut code {
            match event {
                Event::Text(t) => body.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (lang, body) = code.take().unwrap_or_default();
                    text.push_str(&body);
                    text.push(' ');
                    out.push(Event::Html(code_block(&lang, &body, &mut highlight_budget).into()));
                }
                _ => {}
            }
            continue;
        }
        if let Some(held) = &mut heading {
            if let Event::End(TagEnd::Heading(_)) = event {
                let held = std::mem::take(held);
                heading = None;
                let title = plain_text(&held[1..]);
                let (level, given) = match &held[0] {
                    Event::Start(Tag::Heading { level, id, .. }) => (*level as u8, id.clone()),
                    _ => (1, None),
                };
                let id =
                    unique_id(given.map(|id| id.to_string()).unwrap_or_else(|| slug(&title)), &mut used_ids);
                text.push_str(&title);
                text.push(' ');
                let mut held = held.into_iter();
                if let Some(Event::Start(Tag::Heading { level, classes, attrs, .. })) = held.next() {
                    out.push(Event::Start(Tag::Heading {
                        level,
                        id: Some(id.clone().into()),
                        classes,
                        attrs,
                    }));
                }
                out.extend(held);
                out.push(event);
                toc.push(TocEntry { level, id, title });
            } else {
                held.push(rewrite(event, rewrite_link));
            }
            continue;
        }
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(vec![event]),
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or("").to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new()));
            }
            Event::Start(Tag::BlockQuote(_) | Tag::List(_) | Tag::Item) => {
                let keep = depth < MAX_NESTING;
                containers.push(keep);
                if keep {
                    depth += 1;
                    out.push(event);
                }
            }
            Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item) => {
                if containers.pop().unwrap_or(false) {
                    depth -= 1;
                    out.push(event);
                }
            }
            Event::Text(ref t) | Event::Code(ref t) => {
                text.push_str(t);
                text.push(' ');
                out.push(event);
            }
            Event::Html(raw) | Event::InlineHtml(raw) if !budget.admit(&raw) => out.push(Event::Text(raw)),
            other => out.push(rewrite(other, rewrite_link)),
        }
    }
    let mut raw = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut raw, out.into_iter());
    let title = toc.iter().find(|entry| entry.level == 1).map(|entry| entry.title.clone());
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Rendered { html: sanitise(&raw), title, toc, text, raw_html_escaped: budget.exceeded }
}

/// Applies `rewrite_link` to link and image targets.
fn rewrite<'a>(event: Event<'a>, rewrite_link: &mut dyn FnMut(&str) -> String) -> Event<'a> {
    match event {
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = CowStr::from(rewrite_link(&dest_url));
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            let dest_url = CowStr::from(rewrite_link(&dest_url));
            Event::Start(Tag::Image { link_type, dest_url, title, id })
        }
        other => other,
    }
}

fn plain_text(events: &[Event]) -> String {
    let mut out = String::new();
    for event in events {
        if let Event::Text(t) | Event::Code(t) = event {
            out.push_str(t);
        }
    }
    out.trim().to_string()
}

/// Code blocks: `mermaid` fences (pymdownx.superfences' custom fence) become
/// `<pre class="mermaid">` with the diagram's text for a client-side renderer; the others keep
/// their language class and are highlighted.
fn code_block(lang: &str, body: &str, budget: &mut SpanBudget) -> String {
    if lang == "mermaid" {
        return format!("<pre class=\"mermaid\">{}</pre>\n", escape(body));
    }
    let code = highlight::highlight_with_budget(body, Language::from_fence(lang), budget);
    if lang.is_empty() {
        format!("<pre><code>{code}</code></pre>\n")
    } else {
        format!("<pre><code class=\"language-{}\">{code}</code></pre>\n", escape(lang))
    }
}

/// Heading anchors like Python-Markdown's `toc` extension: lower case, punctuation dropped,
/// spaces to `-`.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else if c.is_whitespace() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "section".to_string() } else { out }
}

/// Makes anchors unique within a page the way `toc` does: `id`, `id_1`, `id_2`, …
fn unique_id(id: String, used: &mut HashSet<String>) -> String {
    if used.insert(id.clone()) {
        return id;
    }
    let mut n = 1;
    loop {
        let candidate = format!("{id}_{n}");
        if used.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// Allow-list sanitising of the whole rendered page: raw HTML in Markdown can add no scripts,
/// event handlers, `javascript:` links, iframes or forms. Spans keep only the highlighter's
/// classes, so the page's stylesheet colours code and nothing else through them.
fn sanitise(html: &str) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .add_generic_attributes(["id", "class"])
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attributes("details", ["open"])
        .attribute_filter(|element, attribute, value| {
            // Only task-list checkboxes are kept as inputs.
            if element == "input" && attribute == "type" && value != "checkbox" {
                None
            } else if element == "span" && attribute == "class" {
                let kept: Vec<&str> = value
                    .split_ascii_whitespace()
                    .filter(|class| highlight::CLASSES.contains(class))
                    .collect();
                (!kept.is_empty()).then(|| kept.join(" ").into())
            } else {
                Some(value.into())
            }
        });
    builder.clean(html).to_string()
}

/// Admonitions, expanded to HTML before Markdown parsing:
/// `!!! note "Title"` (block), `??? tip` (collapsed), `???+ tip` (open), body indented by four
/// spaces; and `:::note{severity="info"}` … `:::` blocks. Fenced code is left alone.
fn preprocess(markdown: &str, depth: usize) -> String {
    if depth >= MAX_ADMONITION_DEPTH {
        return markdown.to_string();
    }
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = String::with_capacity(markdown.len() + 64);
    let mut fence: Option<&str> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
        } else if let Some((marker, kind, title)) = admonition_start(line) {
            let mut body = String::new();
            let mut j = i + 1;
            while j < lines.len() && (lines[j].trim().is_empty() || lines[j].starts_with("    ")) {
                body.push_str(lines[j].get(4..).unwrap_or(""));
                body.push('\n');
                j += 1;
            }
            push_admonition(&mut out, marker, &kind, title.as_deref(), &preprocess(&body, depth + 1));
            i = j;
            continue;
        } else if let Some(rest) =
            line.strip_prefix(":::").filter(|r| r.starts_with(|c: char| c.is_alphabetic()))
        {
            let end = lines[i + 1..].iter().position(|l| l.trim_end() == ":::");
            if let Some(end) = end {
                let kind = rest
                    .split_once("severity=\"")
                    .and_then(|(_, s)| s.split_once('"'))
                    .map(|(s, _)| s)
                    .unwrap_or_else(|| rest.split(['{', ' ']).next().unwrap_or("note"));
                let body = lines[i + 1..i + 1 + end].join("\n");
                push_admonition(&mut out, "!!!", kind, None, &preprocess(&body, depth + 1));
                i += end + 2;
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

/// `!!! kind "Title"` → (marker, kind, title).
fn admonition_start(line: &str) -> Option<(&'static str, String, Option<String>)> {
    let (marker, rest) = if let Some(rest) = line.strip_prefix("???+") {
        ("???+", rest)
    } else if let Some(rest) = line.strip_prefix("???") {
        ("???", rest)
    } else {
        ("!!!", line.strip_prefix("!!!")?)
    };
    let rest = rest.trim();
    let (kind, title) = match rest.split_once(char::is_whitespace) {
        Some((kind, title)) => (kind, Some(title.trim().trim_matches('"').to_string())),
        None => (rest, None),
    };
    if kind.is_empty() || !kind.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        return None;
    }
    Some((marker, kind.to_lowercase(), title))
}

fn push_admonition(out: &mut String, marker: &str, kind: &str, title: Option<&str>, body: &str) {
    let kind_class = escape(kind);
    let title = match title {
        Some(title) => escape(title),
        None => {
            let mut chars = kind.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
            escape(&format!("{first}{}", chars.as_str()))
        }
    };
    // Blank lines around the body make it Markdown again inside the HTML block.
    match marker {
        "!!!" => {
            out.push_str(&format!("<div class=\"admonition {kind_class}\">\n"));
            if !title.is_empty() {
                out.push_str(&format!("<p class=\"admonition-title\">{title}</p>\n"));
            }
            out.push_str(&format!("\n{body}\n</div>\n\n"));
        }
        _ => {
            let open = if marker == "???+" { " open" } else { "" };
            out.push_str(&format!(
                "<details class=\"admonition {kind_class}\"{open}>\n<summary>{title}</summary>\n\n{body}\n</details>\n\n"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(markdown: &str) -> String {
        render(markdown, &mut |url| url.to_string()).html
    }

    #[test]
    fn headings_get_unique_anchors_and_a_toc() {
        let page = render("# Title\n\n## Hello, World!\n\n## Hello, World!\n", &mut |u| u.to_string());
        assert_eq!(page.title.as_deref(), Some("Title"));
        let ids: Vec<_> = page.toc.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["title", "hello-world", "hello-world_1"]);
        assert!(page.html.contains("<h2 id=\"hello-world_1\">"), "{}", page.html);
    }

    #[test]
    fn admonitions_block_collapsible_and_open() {
        let out = html(
            "!!! note \"Be careful\"\n    Some *text*.\n\n??? tip\n    Hidden.\n\n???+ warning\n    Shown.\n",
        );
        assert!(out.contains("<div class=\"admonition note\">"), "{out}");
        assert!(out.contains("<p class=\"admonition-title\">Be careful</p>"), "{out}");
        assert!(out.contains("<em>text</em>"), "{out}");
        assert!(out.contains("<details class=\"admonition tip\">\n<summary>Tip</summary>"), "{out}");
        assert!(out.contains("<details class=\"admonition warning\" open"), "{out}");
    }

    #[test]
    fn admonition_markers_inside_fences_stay_code() {
        let out = html("```\n!!! note\n    x\n```\n");
        assert!(out.contains("!!! note") && !out.contains("admonition"), "{out}");
    }

    #[test]
    fn mermaid_fences_become_escaped_pre_blocks() {
        let out = html("```mermaid\ngraph TD; A-->B<script>\n```\n\n```rust\nfn main() {}\n```\n");
        assert!(out.contains("<pre class=\"mermaid\">graph TD; A--&gt;B&lt;script&gt;\n</pre>"), "{out}");
        assert!(
            out.contains("<code class=\"language-rust\"><span class=\"hl-keyword\">fn</span> main() {}"),
            "{out}"
        );
    }

    #[test]
    fn fenced_code_is_highlighted_per_language() {
        let cases = [
            ("rust", "pub fn f() -> u8 { 1 } // x", "<span class=\"hl-keyword\">pub</span>"),
            ("ts", "const a: string = `t`;", "<span class=\"hl-type\">string</span>"),
            ("python", "def f():\n    return None  # x", "<span class=\"hl-literal\">None</span>"),
            ("go", "func main() { var s string }", "<span class=\"hl-keyword\">func</span>"),
            ("console", "$ export A=1", "<span class=\"hl-keyword\">export</span>"),
            ("yaml", "apiVersion: v1 # c", "<span class=\"hl-key\">apiVersion</span>"),
            ("json", "{\"a\": true}", "<span class=\"hl-key\">\"a\"</span>"),
            ("sql", "select 1;", "<span class=\"hl-keyword\">select</span>"),
            (
                "html",
                "<div class=\"x\">",
                "<span class=\"hl-tag\">div</span> <span class=\"hl-attr\">class</span>",
            ),
            ("Dockerfile", "FROM debian", "<span class=\"hl-keyword\">FROM</span>"),
            ("plantuml", "A -> B : \"x\"", "<span class=\"hl-string\">\"x\"</span>"),
        ];
        for (lang, code, expected) in cases {
            let out = html(&format!("```{lang}\n{code}\n```\n"));
            assert!(out.contains(&format!("<pre><code class=\"language-{lang}\">")), "{out}");
            assert!(out.contains(expected), "{lang}: {out}");
        }
        let out = html("```\nfn plain() {}\n```\n\n    indented if\n");
        assert!(out.contains("<pre><code>fn plain() {}\n</code></pre>"), "{out}");
        assert!(out.contains("<pre><code>indented if\n</code></pre>"), "{out}");
    }

    #[test]
    fn code_cannot_inject_markup_and_raw_spans_keep_only_highlight_classes() {
        let out = html(
            "```html\n<script>alert(1)</script><img src=x onerror=alert(2)>\n```\n\n```js\n\"</span><script>\"\n```\n\n\
             <span class=\"hl-keyword evil\" onclick=\"alert(3)\">k</span> <span class=\"banner\">b</span>\n",
        );
        assert!(!out.contains("<script") && !out.contains("<img") && !out.contains("onclick"), "{out}");
        assert!(out.contains("&lt;<span class=\"hl-tag\">script</span>&gt;alert(1)"), "{out}");
        assert!(out.contains("<span class=\"hl-string\">\"&lt;/span&gt;&lt;script&gt;\"</span>"), "{out}");
        assert!(out.contains("<span class=\"hl-keyword\">k</span>"), "{out}");
        assert!(out.contains("<span>b</span>"), "{out}");
    }

    #[test]
    fn a_huge_code_block_renders_in_bounded_time_and_size() {
        let code = "let x = \"<b>\"; // 1 2 3\n".repeat(10 * 1024 * 1024 / 25);
        let started = std::time::Instant::now();
        let page =
            render(&format!("```rust\n{code}```\n\n```rust\nfn after() {{}}\n```\n"), &mut |u| u.to_string());
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
        assert_eq!(page.html.matches("<span").count(), MAX_HIGHLIGHT_SPANS);
        // The budget is the page's: the block after the huge one is plain text.
        assert!(
            page.html.contains("<code class=\"language-rust\">fn after() {}"),
            "{}",
            &page.html[page.html.len() - 200..]
        );
        assert!(page.html.len() < code.len() * 2 + MAX_HIGHLIGHT_SPANS * 40);
    }

    #[test]
    fn extensions_tables_tasks_footnotes_strikethrough() {
        let out = html(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n~~gone~~ note[^1]\n\n[^1]: foot\n",
        );
        assert!(out.contains("<table>"), "{out}");
        assert!(out.contains("type=\"checkbox\""), "{out}");
        assert!(out.contains("<del>gone</del>"), "{out}");
        assert!(out.contains("footnote-definition"), "{out}");
    }

    #[test]
    fn deeply_nested_raw_html_is_shown_as_text_past_the_budget() {
        let page = render(&"<div>".repeat(1_000), &mut |u| u.to_string());
        assert!(page.raw_html_escaped);
        assert!(page.html.contains("&lt;div&gt;"));
        let page = render(&"<div><br><img src=x></div>\n".repeat(1_000), &mut |u| u.to_string());
        assert!(!page.raw_html_escaped);
    }

    #[test]
    fn links_and_images_go_through_the_rewriter() {
        let page = render("[a](other.md#x) ![i](img.png)", &mut |url| format!("R({url})"));
        assert!(page.html.contains("href=\"R(other.md#x)\""), "{}", page.html);
        assert!(page.html.contains("src=\"R(img.png)\""), "{}", page.html);
    }
}
