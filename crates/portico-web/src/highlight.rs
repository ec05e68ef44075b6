//! Server-side syntax highlighting for code shown in pages (API definitions, fenced code in
//! documentation): the text is cut into tokens in one pass, each token escaped, and comments,
//! strings, numbers, keywords and a few other kinds wrapped in `<span class="hl-…">`. Nothing
//! but escaped text and those spans is ever emitted, so the result is safe inside
//! `<pre><code>`.
//!
//! The lexers are deliberately small: no grammar, no backtracking, every lookahead bounded by
//! the token it ends up consuming, so the cost is linear in the input. A span budget caps the
//! markup added to huge inputs: once spent, the rest is escaped text only.

/// Every class the highlighter puts on a `<span>`. Sanitisers allow these on `span` and no
/// others.
pub const CLASSES: [&str; 11] = [
    "hl-comment",
    "hl-string",
    "hl-number",
    "hl-keyword",
    "hl-literal",
    "hl-type",
    "hl-key",
    "hl-tag",
    "hl-attr",
    "hl-variable",
    "hl-meta",
];

/// Spans one call of [`highlight`] adds at most.
pub const DEFAULT_MAX_SPANS: usize = 200_000;

/// What a token is shown as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Comment,
    String,
    Number,
    Keyword,
    /// `true`, `null`, `None`, …
    Literal,
    /// Built-in type names.
    Type,
    /// Mapping keys (YAML, JSON, TOML, INI).
    Key,
    /// Markup tag names.
    Tag,
    /// Markup attribute names.
    Attr,
    /// Shell and Dockerfile `$VARIABLES`.
    Variable,
    /// Preprocessor lines, annotations and decorators, attributes, macros, sections, prompts.
    Meta,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Comment => CLASSES[0],
            Class::String => CLASSES[1],
            Class::Number => CLASSES[2],
            Class::Keyword => CLASSES[3],
            Class::Literal => CLASSES[4],
            Class::Type => CLASSES[5],
            Class::Key => CLASSES[6],
            Class::Tag => CLASSES[7],
            Class::Attr => CLASSES[8],
            Class::Variable => CLASSES[9],
            Class::Meta => CLASSES[10],
        }
    }
}

/// The language a text is highlighted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    JavaScript,
    TypeScript,
    Python,
    Go,
    Java,
    Kotlin,
    C,
    Cpp,
    CSharp,
    /// sh, bash, zsh and console sessions.
    Shell,
    Yaml,
    Json,
    Toml,
    Sql,
    GraphQl,
    Proto,
    Dockerfile,
    /// HTML, XML and SVG: tags, attributes, values, comments.
    Markup,
    Ini,
    /// Anything else: comments, strings and numbers only.
    Other,
    /// Text that is not code (`text`, Markdown, diffs, logs): escaped, no spans.
    Plain,
}

impl Language {
    /// From an API's `spec.type`.
    pub fn for_api_type(spec_type: &str) -> Language {
        match spec_type.to_ascii_lowercase().as_str() {
            "graphql" => Language::GraphQl,
            "grpc" | "protobuf" | "proto" => Language::Proto,
            "openapi" | "asyncapi" | "yaml" => Language::Yaml,
            _ => Language::Other,
        }
    }

    /// From the info string of a fenced code block (` ```ts title="x.ts" `): its first word,
    /// also written `{.ts}` or `language-ts`; no info string is [`Language::Plain`].
    pub fn from_fence(info: &str) -> Language {
        let word = info.split_whitespace().next().unwrap_or("");
        let word = word.trim_start_matches('{').trim_start_matches('.').trim_end_matches('}');
        let word = word.split(['{', ',']).next().unwrap_or("").to_ascii_lowercase();
        let word = word.strip_prefix("language-").unwrap_or(&word);
        match word {
            "rust" | "rs" => Language::Rust,
            "javascript" | "js" | "jsx" | "mjs" | "cjs" | "node" => Language::JavaScript,
            "typescript" | "ts" | "tsx" | "mts" | "cts" => Language::TypeScript,
            "python" | "py" | "python3" | "py3" | "pycon" => Language::Python,
            "go" | "golang" => Language::Go,
            "java" => Language::Java,
            "kotlin" | "kt" | "kts" => Language::Kotlin,
            "c" | "h" => Language::C,
            "cpp" | "c++" | "cc" | "cxx" | "hpp" | "hh" | "hxx" => Language::Cpp,
            "csharp" | "cs" | "c#" => Language::CSharp,
            "bash" | "sh" | "shell" | "zsh" | "ksh" | "console" | "shell-session" | "shellsession"
            | "terminal" => Language::Shell,
            "yaml" | "yml" => Language::Yaml,
            "json" | "jsonc" | "json5" | "jsonl" | "ndjson" => Language::Json,
            "toml" => Language::Toml,
            "sql" | "mysql" | "postgresql" | "postgres" | "pgsql" | "plpgsql" | "sqlite" | "tsql" => {
                Language::Sql
            }
            "graphql" | "gql" => Language::GraphQl,
            "proto" | "protobuf" => Language::Proto,
            "dockerfile" | "docker" | "containerfile" => Language::Dockerfile,
            "html" | "htm" | "xhtml" | "xml" | "svg" | "xsd" | "xsl" | "xslt" | "plist" | "vue" => {
                Language::Markup
            }
            "ini" | "cfg" | "conf" | "properties" | "editorconfig" | "gitconfig" | "dosini" => Language::Ini,
            "" | "text" | "txt" | "plain" | "plaintext" | "none" | "output" | "log" | "markdown" | "md"
            | "diff" | "patch" | "csv" => Language::Plain,
            _ => Language::Other,
        }
    }

    fn syntax(self) -> &'static Syntax {
        match self {
            Language::Rust => &RUST,
            Language::JavaScript => &JAVASCRIPT,
            Language::TypeScript => &TYPESCRIPT,
            Language::Python => &PYTHON,
            Language::Go => &GO,
            Language::Java => &JAVA,
            Language::Kotlin => &KOTLIN,
            Language::C => &C,
            Language::Cpp => &CPP,
            Language::CSharp => &CSHARP,
            Language::Shell => &SHELL,
            Language::Yaml => &YAML,
            Language::Json => &JSON,
            Language::Toml => &TOML,
            Language::Sql => &SQL,
            Language::GraphQl => &GRAPHQL,
            Language::Proto => &PROTO,
            Language::Dockerfile => &DOCKERFILE,
            Language::Ini => &INI,
            Language::Markup | Language::Other | Language::Plain => &OTHER,
        }
    }
}

/// How much markup highlighting may still add: spans left. One budget can be shared by every
/// code block of a page, so a page full of code costs no more than one huge block.
#[derive(Debug, Clone)]
pub struct SpanBudget {
    left: usize,
}

impl SpanBudget {
    /// A budget of `max_spans` spans.
    pub fn new(max_spans: usize) -> SpanBudget {
        SpanBudget { left: max_spans }
    }

    /// Whether every span has been used.
    pub fn is_spent(&self) -> bool {
        self.left == 0
    }
}

impl Default for SpanBudget {
    fn default() -> Self {
        SpanBudget::new(DEFAULT_MAX_SPANS)
    }
}

/// The highlighted HTML of `code` (safe to embed in `<pre><code>`), with at most
/// [`DEFAULT_MAX_SPANS`] spans.
pub fn highlight(code: &str, language: Language) -> String {
    highlight_with_budget(code, language, &mut SpanBudget::default())
}

/// [`highlight`], taking spans from `budget`; once it is spent the rest is escaped text.
pub fn highlight_with_budget(code: &str, language: Language, budget: &mut SpanBudget) -> String {
    let mut out = Writer { out: String::with_capacity(code.len() + code.len() / 2), budget };
    match language {
        Language::Plain => out.text(code),
        Language::Markup => lex_markup(code, &mut out),
        _ => Lexer { code, at: 0, syntax: language.syntax(), language, out: &mut out }.run(),
    }
    out.out
}

/// Appends `text` to `out`, escaped for element content and attribute values.
fn push_escaped(out: &mut String, text: &str) {
    let mut plain_from = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[plain_from..i]);
        out.push_str(entity);
        plain_from = i + 1;
    }
    out.push_str(&text[plain_from..]);
}

struct Writer<'b> {
    out: String,
    budget: &'b mut SpanBudget,
}

impl Writer<'_> {
    fn text(&mut self, text: &str) {
        push_escaped(&mut self.out, text);
    }

    fn span(&mut self, class: Class, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.budget.left == 0 {
            return self.text(text);
        }
        self.budget.left -= 1;
        self.out.push_str("<span class=\"");
        self.out.push_str(class.name());
        self.out.push_str("\">");
        push_escaped(&mut self.out, text);
        self.out.push_str("</span>");
    }
}

/// One kind of string literal.
struct Quote {
    open: &'static str,
    close: &'static str,
    /// A backslash escapes the next character.
    escapes: bool,
    /// May span lines; otherwise an unclosed string ends at the line's end.
    multiline: bool,
}

const fn quote(open: &'static str, escapes: bool, multiline: bool) -> Quote {
    Quote { open, close: open, escapes, multiline }
}

const DOUBLE: Quote = quote("\"", true, false);
const SINGLE: Quote = quote("'", true, false);
const TRIPLE_DOUBLE: Quote = quote("\"\"\"", true, true);
const TRIPLE_SINGLE: Quote = quote("'''", true, true);

/// Where mapping keys are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    None,
    /// A word first on its line, or a string, followed by `:` (YAML).
    ColonAtLineStart,
    /// A string followed by `:` (JSON).
    QuotedColon,
    /// A word first on its line followed by `=` (TOML), or `=`/`:` (INI).
    Assignment {
        colon: bool,
    },
}

/// What a language's lexer looks for. Quotes are tried in order, so longer openers come first.
/// The tables below keep several words a line (`rustfmt::skip`): one word a line would make them
/// hundreds of lines long.
struct Syntax {
    line_comments: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
    /// Line comments start only at a line's start or after whitespace (`#` in shells, YAML).
    comment_after_space: bool,
    quotes: &'static [Quote],
    /// Words that, directly followed by a quote, are part of the string (`r"…"`, `f'…'`).
    string_prefixes: &'static [&'static str],
    keywords: &'static [&'static str],
    types: &'static [&'static str],
    literals: &'static [&'static str],
    case_insensitive: bool,
    /// Keywords count only as the first word of a line (Dockerfile instructions).
    keywords_at_line_start: bool,
    /// Characters besides letters, digits and `_` that words may contain.
    word_chars: &'static str,
    keys: Keys,
    /// `[section]` lines (TOML, INI).
    sections: bool,
    /// `#directive` lines (C, C++, C#).
    preprocessor: bool,
    /// `@Annotation`, `@decorator`.
    annotations: bool,
    /// `$NAME`, `${NAME}`, `$1`.
    variables: bool,
}

const BASE: Syntax = Syntax {
    line_comments: &[],
    block_comment: None,
    comment_after_space: false,
    quotes: &[DOUBLE],
    string_prefixes: &[],
    keywords: &[],
    types: &[],
    literals: &[],
    case_insensitive: false,
    keywords_at_line_start: false,
    word_chars: "",
    keys: Keys::None,
    sections: false,
    preprocessor: false,
    annotations: false,
    variables: false,
};

const C_COMMENTS: Option<(&str, &str)> = Some(("/*", "*/"));

#[rustfmt::skip]
static RUST: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    // Raw strings (`r#"…"#`), char literals and lifetimes are handled by the lexer.
    quotes: &[quote("\"", true, true)],
    string_prefixes: &["b"],
    keywords: &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "self", "static", "struct", "super", "trait", "type", "union", "unsafe", "use", "where", "while",
        "yield",
    ],
    types: &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
        "isize", "f32", "f64", "Self", "String", "Vec", "Option", "Result", "Box",
    ],
    literals: &["true", "false", "None", "Some", "Ok", "Err"],
    ..BASE
};

#[rustfmt::skip]
const JS_KEYWORDS: &[&str] = &[
    "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default",
    "delete", "do", "else", "export", "extends", "finally", "for", "from", "function", "get", "if",
    "import", "in", "instanceof", "let", "new", "of", "return", "set", "static", "super", "switch", "this",
    "throw", "try", "typeof", "var", "void", "while", "with", "yield",
];
#[rustfmt::skip]
const JS_LITERALS: &[&str] = &["true", "false", "null", "undefined", "NaN", "Infinity"];
const JS_QUOTES: &[Quote] = &[DOUBLE, SINGLE, quote("`", true, true)];

#[rustfmt::skip]
static JAVASCRIPT: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: JS_QUOTES,
    keywords: JS_KEYWORDS,
    literals: JS_LITERALS,
    word_chars: "$",
    annotations: true,
    ..BASE
};

#[rustfmt::skip]
static TYPESCRIPT: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: JS_QUOTES,
    keywords: &[
        "abstract", "as", "async", "await", "break", "case", "catch", "class", "const", "continue",
        "declare", "default", "delete", "do", "else", "enum", "export", "extends", "finally", "for", "from",
        "function", "get", "if", "implements", "import", "in", "infer", "instanceof", "interface", "is",
        "keyof", "let", "module", "namespace", "new", "of", "private", "protected", "public", "readonly",
        "return", "satisfies", "set", "static", "super", "switch", "this", "throw", "try", "type", "typeof",
        "var", "void", "while", "with", "yield",
    ],
    types: &["any", "bigint", "boolean", "never", "number", "object", "string", "symbol", "unknown"],
    literals: JS_LITERALS,
    word_chars: "$",
    annotations: true,
    ..BASE
};

#[rustfmt::skip]
static PYTHON: Syntax = Syntax {
    line_comments: &["#"],
    quotes: &[TRIPLE_DOUBLE, TRIPLE_SINGLE, DOUBLE, SINGLE],
    string_prefixes: &["r", "b", "f", "u", "rb", "br", "fr", "rf"],
    keywords: &[
        "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
        "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "match",
        "case", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ],
    types: &["int", "float", "str", "bool", "bytes", "list", "dict", "set", "tuple", "object", "self", "cls"],
    literals: &["True", "False", "None"],
    annotations: true,
    ..BASE
};

#[rustfmt::skip]
static GO: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: &[DOUBLE, SINGLE, quote("`", false, true)],
    keywords: &[
        "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for",
        "func", "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select",
        "struct", "switch", "type", "var",
    ],
    types: &[
        "any", "bool", "byte", "complex64", "complex128", "error", "float32", "float64", "int", "int8",
        "int16", "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
    ],
    literals: &["true", "false", "nil", "iota"],
    ..BASE
};

#[rustfmt::skip]
static JAVA: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: &[TRIPLE_DOUBLE, DOUBLE, SINGLE],
    keywords: &[
        "abstract", "assert", "break", "case", "catch", "class", "const", "continue", "default", "do",
        "else", "enum", "extends", "final", "finally", "for", "if", "implements", "import", "instanceof",
        "interface", "native", "new", "package", "permits", "private", "protected", "public", "record",
        "return", "sealed", "static", "strictfp", "super", "switch", "synchronized", "this", "throw",
        "throws", "transient", "try", "var", "volatile", "while", "yield",
    ],
    types: &["boolean", "byte", "char", "double", "float", "int", "long", "short", "void", "String"],
    literals: &["true", "false", "null"],
    word_chars: "$",
    annotations: true,
    ..BASE
};

#[rustfmt::skip]
static KOTLIN: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: &[quote("\"\"\"", false, true), DOUBLE, SINGLE],
    keywords: &[
        "abstract", "annotation", "as", "break", "by", "catch", "class", "companion", "const", "constructor",
        "continue", "data", "do", "else", "enum", "external", "final", "finally", "for", "fun", "get", "if",
        "import", "in", "infix", "init", "inline", "inner", "interface", "internal", "is", "lateinit",
        "object", "open", "operator", "out", "override", "package", "private", "protected", "public",
        "reified", "return", "sealed", "set", "super", "suspend", "this", "throw", "try", "typealias", "val",
        "var", "vararg", "when", "where", "while",
    ],
    types: &[
        "Any", "Boolean", "Byte", "Char", "Double", "Float", "Int", "Long", "Nothing", "Short", "String", "Unit",
    ],
    literals: &["true", "false", "null"],
    annotations: true,
    ..BASE
};

#[rustfmt::skip]
const C_KEYWORDS: &[&str] = &[
    "auto", "break", "case", "const", "continue", "default", "do", "else", "enum", "extern", "for", "goto",
    "if", "inline", "register", "restrict", "return", "sizeof", "static", "struct", "switch", "typedef",
    "union", "volatile", "while",
];
#[rustfmt::skip]
const C_TYPES: &[&str] = &[
    "char", "double", "float", "int", "long", "short", "signed", "unsigned", "void", "bool", "size_t",
    "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t",
];
#[rustfmt::skip]
const C_PREFIXES: &[&str] = &["L", "u", "U", "u8"];

#[rustfmt::skip]
static C: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: &[DOUBLE, SINGLE],
    string_prefixes: C_PREFIXES,
    keywords: C_KEYWORDS,
    types: C_TYPES,
    literals: &["true", "false", "NULL"],
    preprocessor: true,
    ..BASE
};

#[rustfmt::skip]
static CPP: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: &[DOUBLE, SINGLE],
    string_prefixes: C_PREFIXES,
    keywords: &[
        "alignas", "alignof", "auto", "break", "case", "catch", "class", "concept", "const", "consteval",
        "constexpr", "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype",
        "default", "delete", "do", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "final",
        "for", "friend", "goto", "if", "inline", "mutable", "namespace", "new", "noexcept", "operator",
        "override", "private", "protected", "public", "reinterpret_cast", "requires", "return", "sizeof",
        "static", "static_assert", "static_cast", "struct", "switch", "template", "this", "throw", "try",
        "typedef", "typeid", "typename", "union", "using", "virtual", "volatile", "while",
    ],
    types: C_TYPES,
    literals: &["true", "false", "nullptr", "NULL"],
    preprocessor: true,
    ..BASE
};

#[rustfmt::skip]
static CSHARP: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    // Verbatim (`@"…"`) and interpolated (`$"…"`) strings are handled by the lexer.
    quotes: &[quote("\"\"\"", false, true), DOUBLE, SINGLE],
    keywords: &[
        "abstract", "as", "async", "await", "base", "break", "case", "catch", "checked", "class", "const",
        "continue", "default", "delegate", "do", "else", "enum", "event", "explicit", "extern", "finally",
        "fixed", "for", "foreach", "get", "goto", "if", "implicit", "in", "init", "interface", "internal",
        "is", "lock", "namespace", "new", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "record", "ref", "return", "sealed", "set", "sizeof", "stackalloc", "static",
        "struct", "switch", "this", "throw", "try", "typeof", "unchecked", "unsafe", "using", "var",
        "virtual", "void", "volatile", "when", "where", "while", "yield",
    ],
    types: &[
        "bool", "byte", "char", "decimal", "double", "dynamic", "float", "int", "long", "object", "sbyte",
        "short", "string", "uint", "ulong", "ushort",
    ],
    literals: &["true", "false", "null"],
    preprocessor: true,
    ..BASE
};

#[rustfmt::skip]
static SHELL: Syntax = Syntax {
    line_comments: &["#"],
    comment_after_space: true,
    // Single quotes take no escapes in shells. Strings end at the line's end: an apostrophe in
    // a console session's output must not turn the rest of the block into a string.
    quotes: &[DOUBLE, quote("'", false, false)],
    keywords: &[
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "in",
        "function", "select", "return", "break", "continue", "exit", "export", "local", "readonly",
        "declare", "set", "unset", "shift", "source", "alias", "echo", "cd", "eval", "exec", "trap",
    ],
    literals: &["true", "false"],
    word_chars: "-",
    variables: true,
    ..BASE
};

#[rustfmt::skip]
static YAML: Syntax = Syntax {
    line_comments: &["#"],
    comment_after_space: true,
    quotes: &[DOUBLE, quote("'", false, false)],
    literals: &["true", "false", "null", "True", "False", "Null", "TRUE", "FALSE", "NULL"],
    word_chars: "-./$",
    keys: Keys::ColonAtLineStart,
    ..BASE
};

#[rustfmt::skip]
static JSON: Syntax = Syntax {
    // Comments are not JSON, but JSONC and JSON5 files are often fenced as `json`.
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    literals: &["true", "false", "null"],
    keys: Keys::QuotedColon,
    ..BASE
};

#[rustfmt::skip]
static TOML: Syntax = Syntax {
    line_comments: &["#"],
    quotes: &[TRIPLE_DOUBLE, quote("'''", false, true), DOUBLE, quote("'", false, false)],
    literals: &["true", "false", "inf", "nan"],
    word_chars: "-.",
    keys: Keys::Assignment { colon: false },
    sections: true,
    ..BASE
};

#[rustfmt::skip]
static SQL: Syntax = Syntax {
    line_comments: &["--"],
    block_comment: C_COMMENTS,
    quotes: &[quote("'", false, false)],
    keywords: &[
        "add", "all", "alter", "and", "any", "as", "asc", "begin", "between", "by", "case", "cascade",
        "check", "column", "commit", "constraint", "create", "cross", "database", "default", "delete",
        "desc", "distinct", "drop", "else", "end", "exists", "foreign", "from", "full", "function", "grant",
        "group", "having", "if", "in", "index", "inner", "insert", "into", "is", "join", "key", "left",
        "like", "limit", "not", "offset", "on", "or", "order", "outer", "primary", "references", "replace",
        "returning", "revoke", "right", "rollback", "schema", "select", "set", "table", "then", "transaction",
        "trigger", "union", "unique", "update", "using", "values", "view", "when", "where", "with",
    ],
    types: &[
        "bigint", "blob", "boolean", "char", "date", "decimal", "double", "float", "int", "integer", "json",
        "jsonb", "numeric", "real", "serial", "smallint", "text", "time", "timestamp", "timestamptz", "uuid",
        "varchar",
    ],
    literals: &["null", "true", "false"],
    case_insensitive: true,
    ..BASE
};

#[rustfmt::skip]
static GRAPHQL: Syntax = Syntax {
    line_comments: &["#"],
    quotes: &[TRIPLE_DOUBLE, DOUBLE],
    keywords: &[
        "type", "interface", "union", "enum", "input", "scalar", "schema", "query", "mutation",
        "subscription", "fragment", "on", "implements", "extend", "directive", "repeatable",
    ],
    types: &["ID", "String", "Int", "Float", "Boolean"],
    literals: &["true", "false", "null"],
    ..BASE
};

#[rustfmt::skip]
static PROTO: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: C_COMMENTS,
    quotes: &[DOUBLE, SINGLE],
    keywords: &[
        "syntax", "edition", "package", "import", "option", "message", "service", "rpc", "returns", "enum",
        "oneof", "map", "repeated", "optional", "required", "reserved", "stream", "extend", "public", "weak",
    ],
    types: &[
        "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64",
        "sfixed32", "sfixed64", "bool", "string", "bytes",
    ],
    literals: &["true", "false"],
    ..BASE
};

#[rustfmt::skip]
static DOCKERFILE: Syntax = Syntax {
    line_comments: &["#"],
    comment_after_space: true,
    quotes: &[DOUBLE, quote("'", false, false)],
    keywords: &[
        "from", "run", "cmd", "label", "maintainer", "expose", "env", "add", "copy", "entrypoint", "volume",
        "user", "workdir", "arg", "onbuild", "stopsignal", "healthcheck", "shell",
    ],
    case_insensitive: true,
    keywords_at_line_start: true,
    word_chars: "-",
    variables: true,
    ..BASE
};

#[rustfmt::skip]
static INI: Syntax = Syntax {
    line_comments: &[";", "#"],
    comment_after_space: true,
    literals: &["true", "false", "yes", "no", "on", "off"],
    word_chars: "-.",
    keys: Keys::Assignment { colon: true },
    sections: true,
    ..BASE
};

#[rustfmt::skip]
static OTHER: Syntax = Syntax {
    line_comments: &["#", "//"],
    block_comment: C_COMMENTS,
    comment_after_space: true,
    word_chars: "-./$",
    ..BASE
};

/// The byte length of the string starting at `rest` (which starts with `quote.open`); an
/// unclosed string runs to the end of its line, or of the text if it may span lines.
fn string_len(rest: &str, quote: &Quote) -> usize {
    let mut chars = rest.char_indices().skip(quote.open.chars().count());
    while let Some((i, c)) = chars.next() {
        if rest[i..].starts_with(quote.close) {
            return i + quote.close.len();
        }
        if c == '\n' && !quote.multiline {
            return i;
        }
        if c == '\\' && quote.escapes {
            // The escaped character, a line break included (a continued line).
            chars.next();
        }
    }
    rest.len()
}

/// The byte length of the text up to (not including) the next line break.
fn line_len(rest: &str) -> usize {
    rest.find('\n').unwrap_or(rest.len())
}

/// The number of spaces and tabs `rest` starts with.
fn blank_len(rest: &str) -> usize {
    rest.len() - rest.trim_start_matches([' ', '\t']).len()
}

struct Lexer<'c, 'w, 'b> {
    code: &'c str,
    at: usize,
    syntax: &'static Syntax,
    language: Language,
    out: &'w mut Writer<'b>,
}

impl<'c> Lexer<'c, '_, '_> {
    fn rest(&self) -> &'c str {
        &self.code[self.at..]
    }

    fn emit(&mut self, class: Class, len: usize) {
        let text = &self.code[self.at..self.at + len];
        self.out.span(class, text);
        self.at += len;
    }

    fn is_word_start(&self, c: char) -> bool {
        c.is_alphabetic() || c == '_' || (c == '$' && self.syntax.word_chars.contains('$'))
    }

    fn is_word_char(&self, c: char) -> bool {
        c.is_alphanumeric() || c == '_' || self.syntax.word_chars.contains(c)
    }

    fn word_len(&self, rest: &str) -> usize {
        rest.find(|c: char| !self.is_word_char(c)).unwrap_or(rest.len())
    }

    fn matches(&self, word: &str, list: &[&str]) -> bool {
        if self.syntax.case_insensitive {
            list.iter().any(|k| k.eq_ignore_ascii_case(word))
        } else {
            list.contains(&word)
        }
    }

    /// Whether the text after `len` bytes is (after blanks) one of `marks`.
    fn followed_by(&self, len: usize, marks: &[char]) -> bool {
        let after = &self.rest()[len..];
        after[blank_len(after)..].starts_with(marks)
    }

    fn run(mut self) {
        let syntax = self.syntax;
        // Only blanks (and YAML list markers) so far on this line.
        let mut line_start = true;
        while let Some(c) = self.rest().chars().next() {
            let rest = self.rest();
            let at_line_start = line_start;
            line_start = false;

            if let Some((open, close)) = syntax.block_comment.filter(|(open, _)| rest.starts_with(open)) {
                let len =
                    rest[open.len()..].find(close).map_or(rest.len(), |end| open.len() + end + close.len());
                self.emit(Class::Comment, len);
                continue;
            }
            let comment_allowed = !syntax.comment_after_space || at_line_start || self.previous_is_blank();
            if comment_allowed && syntax.line_comments.iter().any(|marker| rest.starts_with(marker)) {
                self.emit(Class::Comment, line_len(rest));
                continue;
            }
            if c == '#' && syntax.preprocessor && at_line_start {
                self.emit(Class::Meta, line_len(rest));
                continue;
            }
            if c == '[' && syntax.sections && at_line_start {
                let line = line_len(rest);
                let len = rest[..line].find(']').map_or(line, |end| end + 1);
                self.emit(Class::Meta, len);
                continue;
            }
            if self.language == Language::Rust && self.rust_special(rest) {
                continue;
            }
            if self.language == Language::CSharp && self.csharp_string(rest) {
                continue;
            }
            if let Some(quote) = syntax.quotes.iter().find(|q| rest.starts_with(q.open)) {
                self.string(string_len(rest, quote), at_line_start);
                continue;
            }
            if c == '@' && syntax.annotations && rest[1..].starts_with(|n: char| self.is_word_start(n)) {
                self.emit(Class::Meta, 1 + self.word_len(&rest[1..]));
                continue;
            }
            if c == '$' && syntax.variables {
                if at_line_start && self.language == Language::Shell && rest[1..].starts_with(' ') {
                    // A console prompt.
                    self.emit(Class::Meta, 1);
                    continue;
                }
                if let Some(len) = variable_len(rest) {
                    self.emit(Class::Variable, len);
                    continue;
                }
            }
            if c.is_ascii_digit() {
                let len = rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'));
                self.emit(Class::Number, len.unwrap_or(rest.len()));
                continue;
            }
            if self.is_word_start(c) {
                self.word(rest, at_line_start);
                continue;
            }

            if c == '\n' {
                line_start = true;
            } else if c == ' ' || c == '\t' || (c == '-' && syntax.keys == Keys::ColonAtLineStart) {
                // Indentation, and YAML's list markers, keep the line's start.
                line_start = at_line_start;
            }
            let len = c.len_utf8();
            self.out.text(&rest[..len]);
            self.at += len;
        }
    }

    /// Whether the character before the current one is whitespace (or there is none).
    fn previous_is_blank(&self) -> bool {
        self.code[..self.at].chars().next_back().is_none_or(char::is_whitespace)
    }

    /// A string of `len` bytes; a key if the language's keys are strings followed by `:`.
    fn string(&mut self, len: usize, at_line_start: bool) {
        let is_key = match self.syntax.keys {
            Keys::QuotedColon => self.followed_by(len, &[':']),
            Keys::ColonAtLineStart => at_line_start && self.followed_by(len, &[':']),
            _ => false,
        };
        self.emit(if is_key { Class::Key } else { Class::String }, len);
    }

    fn word(&mut self, rest: &str, at_line_start: bool) {
        let syntax = self.syntax;
        let len = self.word_len(rest);
        let word = &rest[..len];
        let after = &rest[len..];
        if syntax.string_prefixes.iter().any(|p| p.eq_ignore_ascii_case(word))
            && let Some(quote) = syntax.quotes.iter().find(|q| after.starts_with(q.open))
        {
            return self.emit(Class::String, len + string_len(after, quote));
        }
        let assignment: &[char] = match syntax.keys {
            Keys::Assignment { colon: true } => &['=', ':'],
            _ => &['='],
        };
        let is_key = at_line_start
            && match syntax.keys {
                Keys::ColonAtLineStart => after.starts_with(':'),
                Keys::Assignment { .. } => self.followed_by(len, assignment),
                Keys::None | Keys::QuotedColon => false,
            };
        if is_key {
            self.emit(Class::Key, len);
        } else if self.matches(word, syntax.keywords) && (at_line_start || !syntax.keywords_at_line_start) {
            self.emit(Class::Keyword, len);
        } else if self.matches(word, syntax.types) {
            self.emit(Class::Type, len);
        } else if self.matches(word, syntax.literals) {
            self.emit(Class::Literal, len);
        } else if self.language == Language::Rust && after.starts_with('!') && !after.starts_with("!=") {
            // A macro call: its name and the `!`.
            self.emit(Class::Meta, len + 1);
        } else {
            self.out.text(word);
            self.at += len;
        }
    }

    /// Rust's raw strings, byte and char literals, lifetimes and attributes; `true` if one was
    /// consumed.
    fn rust_special(&mut self, rest: &str) -> bool {
        if rest.starts_with("#[") || rest.starts_with("#![") {
            let line = line_len(rest);
            let len = rest[..line].find(']').map_or(line, |end| end + 1);
            self.emit(Class::Meta, len);
            return true;
        }
        let raw = rest.strip_prefix("br").or_else(|| rest.strip_prefix('r'));
        if let Some(after_r) = raw {
            let hashes = after_r.len() - after_r.trim_start_matches('#').len();
            if after_r[hashes..].starts_with('"') {
                let prefix = rest.len() - after_r.len() + hashes + 1;
                let close = format!("\"{}", "#".repeat(hashes));
                let len = rest[prefix..].find(&close).map_or(rest.len(), |end| prefix + end + close.len());
                self.emit(Class::String, len);
                return true;
            }
        }
        let char_start = if rest.starts_with("b'") { Some(1) } else { rest.starts_with('\'').then_some(0) };
        if let Some(start) = char_start {
            // `'x'`, `'\n'`, `'\u{1F600}'` are chars; `'a` (no closing quote right after) is a lifetime.
            let body = &rest[start + 1..];
            let mut chars = body.char_indices();
            let len = match chars.next() {
                // An escape: `\n`, `\'`, `\u{10FFFF}`.
                Some((_, '\\')) => chars.skip(1).take(10).find(|&(_, c)| c == '\'').map(|(end, _)| end),
                Some((_, c)) if c != '\'' && c != '\n' => {
                    chars.next().filter(|&(_, n)| n == '\'').map(|(end, _)| end)
                }
                _ => None,
            };
            match len {
                Some(end) => self.emit(Class::String, start + 1 + end + 1),
                None => {
                    self.out.text(&rest[..start + 1]);
                    self.at += start + 1;
                }
            }
            return true;
        }
        false
    }

    /// C#'s verbatim (`@"…"`) and interpolated (`$"…"`) strings; `true` if one was consumed.
    fn csharp_string(&mut self, rest: &str) -> bool {
        let prefix = ["$@\"", "@$\"", "@\"", "$\""].into_iter().find(|p| rest.starts_with(p));
        let Some(prefix) = prefix else { return false };
        let verbatim = prefix.contains('@');
        let open = &prefix[prefix.len() - 1..];
        let quote = Quote { open, close: "\"", escapes: !verbatim, multiline: verbatim };
        let after = &rest[prefix.len() - 1..];
        let len = prefix.len() - 1 + string_len(after, &quote);
        self.emit(Class::String, len);
        true
    }
}

/// The length of a shell variable reference at the start of `rest` (`$NAME`, `${…}`, `$1`,
/// `$?`), or `None` for a lone `$`.
fn variable_len(rest: &str) -> Option<usize> {
    let after = &rest[1..];
    if after.starts_with('{') {
        let line = line_len(after);
        return Some(1 + after[..line].find('}').map_or(line, |end| end + 1));
    }
    let first = after.chars().next()?;
    if first.is_ascii_digit() || "?@#*!$-".contains(first) {
        return Some(2);
    }
    if first.is_alphabetic() || first == '_' {
        return Some(1 + after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len()));
    }
    None
}

/// HTML and XML: comments, declarations, tag names, attribute names and values.
fn lex_markup(code: &str, out: &mut Writer) {
    let mut rest = code;
    let mut in_tag = false;
    while let Some(c) = rest.chars().next() {
        let len = if in_tag {
            markup_in_tag(rest, out, &mut in_tag)
        } else if let Some(comment) = rest.strip_prefix("<!--") {
            let len = comment.find("-->").map_or(rest.len(), |end| 4 + end + 3);
            out.span(Class::Comment, &rest[..len]);
            len
        } else if rest.starts_with("<![CDATA[") {
            let len = rest.find("]]>").map_or(rest.len(), |end| end + 3);
            out.span(Class::String, &rest[..len]);
            len
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            let len = rest.find('>').map_or(rest.len(), |end| end + 1);
            out.span(Class::Meta, &rest[..len]);
            len
        } else if c == '<' && rest[markup_name_at(rest)..].starts_with(|n: char| n.is_alphabetic()) {
            let open = markup_name_at(rest);
            out.text(&rest[..open]);
            let name = &rest[open..];
            let name_len = name.find(|n: char| !is_markup_name_char(n)).unwrap_or(name.len());
            out.span(Class::Tag, &name[..name_len]);
            in_tag = true;
            open + name_len
        } else {
            // Plain text up to the next tag.
            let len = rest[c.len_utf8()..].find('<').map_or(rest.len(), |end| end + c.len_utf8());
            out.text(&rest[..len]);
            len
        };
        rest = &rest[len..];
    }
}

/// Where a tag's name starts in `rest` (which starts with `<`): after `<` or `</`.
fn markup_name_at(rest: &str) -> usize {
    if rest.starts_with("</") { 2 } else { 1 }
}

fn is_markup_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

/// One token inside a tag; returns its length and clears `in_tag` at the tag's end.
fn markup_in_tag(rest: &str, out: &mut Writer, in_tag: &mut bool) -> usize {
    let Some(c) = rest.chars().next() else { return 0 };
    let len = match c {
        '>' => {
            *in_tag = false;
            1
        }
        '"' | '\'' => {
            let len = rest[1..].find(c).map_or(rest.len(), |end| end + 2);
            out.span(Class::String, &rest[..len]);
            return len;
        }
        c if c.is_alphabetic() || c == '_' || c == ':' || c == '@' => {
            let len = rest.find(|n: char| !(is_markup_name_char(n) || n == '@')).unwrap_or(rest.len());
            out.span(Class::Attr, &rest[..len]);
            return len;
        }
        c => c.len_utf8(),
    };
    out.text(&rest[..len]);
    len
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn has(html: &str, class: &str, text: &str) -> bool {
        html.contains(&format!("<span class=\"hl-{class}\">{text}</span>"))
    }

    #[track_caller]
    fn assert_spans(code: &str, language: Language, expected: &[(&str, &str)]) {
        let html = highlight(code, language);
        for (class, text) in expected {
            assert!(has(&html, class, text), "{language:?}: no {class} span around {text:?} in {html}");
        }
    }

    #[test]
    fn graphql_keywords_strings_and_comments() {
        let html = highlight("# note <b>\ntype Film { title: String \"x<y\" }", Language::GraphQl);
        assert!(html.contains("<span class=\"hl-comment\"># note &lt;b&gt;</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-keyword\">type</span> Film"), "{html}");
        assert!(html.contains("<span class=\"hl-string\">&quot;x&lt;y&quot;</span>"), "{html}");
    }

    #[test]
    fn proto_and_yaml() {
        let html = highlight("service Greeter { rpc Hi (A) returns (B); } // c", Language::Proto);
        assert!(html.contains("<span class=\"hl-keyword\">rpc</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-comment\">// c</span>"), "{html}");
        let html = highlight("info:\n  version: 1.0\n  - name: x", Language::Yaml);
        assert!(html.contains("<span class=\"hl-key\">info</span>:"), "{html}");
        assert!(html.contains("<span class=\"hl-number\">1.0</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-key\">name</span>"), "{html}");
    }

    #[test]
    fn fence_info_strings_name_languages() {
        let cases = [
            ("rust", Language::Rust),
            ("rs", Language::Rust),
            ("js", Language::JavaScript),
            ("jsx", Language::JavaScript),
            ("tsx", Language::TypeScript),
            ("TypeScript", Language::TypeScript),
            ("py", Language::Python),
            ("go", Language::Go),
            ("java", Language::Java),
            ("kotlin", Language::Kotlin),
            ("c", Language::C),
            ("cpp", Language::Cpp),
            ("c++", Language::Cpp),
            ("csharp", Language::CSharp),
            ("console", Language::Shell),
            ("zsh", Language::Shell),
            ("yml", Language::Yaml),
            ("json", Language::Json),
            ("toml", Language::Toml),
            ("sql", Language::Sql),
            ("graphql", Language::GraphQl),
            ("proto", Language::Proto),
            ("Dockerfile", Language::Dockerfile),
            ("html", Language::Markup),
            ("xml", Language::Markup),
            ("ini", Language::Ini),
            ("python title=\"setup.py\"", Language::Python),
            ("{.python}", Language::Python),
            ("language-go", Language::Go),
            ("", Language::Plain),
            ("text", Language::Plain),
            ("plantuml", Language::Other),
        ];
        for (info, language) in cases {
            assert_eq!(Language::from_fence(info), language, "{info:?}");
        }
    }

    #[test]
    fn c_family_languages() {
        assert_spans(
            "/// Doc <T>\n#[derive(Debug)]\npub fn main() -> u32 { let s = r#\"a \"quoted\" b\"#; println!(\"{}\", 'x'); 0x1F } /* end */",
            Language::Rust,
            &[
                ("comment", "/// Doc &lt;T&gt;"),
                ("meta", "#[derive(Debug)]"),
                ("keyword", "pub"),
                ("keyword", "fn"),
                ("type", "u32"),
                ("string", "r#&quot;a &quot;quoted&quot; b&quot;#"),
                ("meta", "println!"),
                ("string", "&#39;x&#39;"),
                ("number", "0x1F"),
                ("comment", "/* end */"),
            ],
        );
        let html = highlight("fn f<'a>(x: &'a str) -> char { '\\n' }", Language::Rust);
        assert!(
            has(&html, "string", "&#39;\\n&#39;") && !has(&html, "string", "&#39;a&gt;(x: &amp;&#39;"),
            "{html}"
        );
        assert_spans(
            "const x = `a ${b}\nc`; // note\nexport default async function f() { return null }",
            Language::JavaScript,
            &[
                ("keyword", "const"),
                ("string", "`a ${b}\nc`"),
                ("comment", "// note"),
                ("keyword", "export"),
                ("keyword", "async"),
                ("literal", "null"),
            ],
        );
        assert_spans(
            "@Component()\ninterface A { b: string; readonly c?: number }",
            Language::TypeScript,
            &[("meta", "@Component"), ("keyword", "interface"), ("type", "string"), ("keyword", "readonly")],
        );
        assert_spans(
            "package main\nfunc main() { s := `raw\nline`; var n int = 42; _ = nil }",
            Language::Go,
            &[
                ("keyword", "func"),
                ("string", "`raw\nline`"),
                ("type", "int"),
                ("number", "42"),
                ("literal", "nil"),
            ],
        );
        assert_spans(
            "@Override\npublic static void main(String[] args) { var t = \"\"\"\n  block\n  \"\"\"; }",
            Language::Java,
            &[
                ("meta", "@Override"),
                ("keyword", "public"),
                ("type", "void"),
                ("string", "&quot;&quot;&quot;\n  block\n  &quot;&quot;&quot;"),
            ],
        );
        assert_spans(
            "data class P(val x: Int) { fun f() = when (x) { else -> null } }",
            Language::Kotlin,
            &[
                ("keyword", "data"),
                ("keyword", "val"),
                ("type", "Int"),
                ("keyword", "when"),
                ("literal", "null"),
            ],
        );
        assert_spans(
            "#include <stdio.h>\nint main(void) { char c = 'a'; return 0; }",
            Language::C,
            &[
                ("meta", "#include &lt;stdio.h&gt;"),
                ("type", "int"),
                ("string", "&#39;a&#39;"),
                ("keyword", "return"),
            ],
        );
        assert_spans(
            "template <typename T> class V { auto p = nullptr; };",
            Language::Cpp,
            &[("keyword", "template"), ("keyword", "typename"), ("keyword", "class"), ("literal", "nullptr")],
        );
        assert_spans(
            "#region x\nvar p = @\"C:\\dir\\\"; var s = $\"{a} b\"; public record R(string S);",
            Language::CSharp,
            &[
                ("meta", "#region x"),
                ("string", "@&quot;C:\\dir\\&quot;"),
                ("string", "$&quot;{a} b&quot;"),
                ("keyword", "record"),
                ("type", "string"),
            ],
        );
    }

    #[test]
    fn scripting_and_query_languages() {
        assert_spans(
            "@dataclass\ndef f(x: int) -> None:\n    \"\"\"Doc.\n    more\"\"\"\n    return f'{x}' # done",
            Language::Python,
            &[
                ("meta", "@dataclass"),
                ("keyword", "def"),
                ("type", "int"),
                ("literal", "None"),
                ("string", "&quot;&quot;&quot;Doc.\n    more&quot;&quot;&quot;"),
                ("string", "f&#39;{x}&#39;"),
                ("comment", "# done"),
            ],
        );
        assert_spans(
            "$ export NAME=\"a b\"  # note\nif [ -n \"${HOME}\" ]; then echo $NAME $1 url#frag; fi",
            Language::Shell,
            &[
                ("meta", "$"),
                ("keyword", "export"),
                ("string", "&quot;a b&quot;"),
                ("comment", "# note"),
                ("keyword", "if"),
                ("keyword", "then"),
                ("variable", "$NAME"),
                ("variable", "$1"),
                ("keyword", "fi"),
            ],
        );
        assert!(!highlight("echo url#frag", Language::Shell).contains("hl-comment"));
        assert_spans(
            "-- all\nSelect id, 'it''s' FROM t where n > 10 /* c */",
            Language::Sql,
            &[
                ("comment", "-- all"),
                ("keyword", "Select"),
                ("keyword", "where"),
                ("number", "10"),
                ("comment", "/* c */"),
            ],
        );
        assert_spans(
            "# base\nFROM rust:1.80 AS build\nRUN cargo build --release && echo $HOME\nENV A=\"b\"",
            Language::Dockerfile,
            &[
                ("comment", "# base"),
                ("keyword", "FROM"),
                ("keyword", "RUN"),
                ("variable", "$HOME"),
                ("keyword", "ENV"),
                ("string", "&quot;b&quot;"),
            ],
        );
        assert!(!highlight("RUN npm run build", Language::Dockerfile).contains(">run<"));
    }

    #[test]
    fn data_and_config_languages() {
        assert_spans(
            "{\"name\": \"x\", \"n\": 1.5, \"ok\": true, \"v\": null}",
            Language::Json,
            &[
                ("key", "&quot;name&quot;"),
                ("string", "&quot;x&quot;"),
                ("number", "1.5"),
                ("literal", "true"),
                ("literal", "null"),
            ],
        );
        assert_spans(
            "# cfg\n[package]\nname = \"portico\"\nedition.workspace = true\nlines = '''\nraw\n'''",
            Language::Toml,
            &[
                ("comment", "# cfg"),
                ("meta", "[package]"),
                ("key", "name"),
                ("string", "&quot;portico&quot;"),
                ("key", "edition.workspace"),
                ("literal", "true"),
                ("string", "&#39;&#39;&#39;\nraw\n&#39;&#39;&#39;"),
            ],
        );
        assert_spans(
            "; comment\n[core]\neditor = vim\nautocrlf: false",
            Language::Ini,
            &[
                ("comment", "; comment"),
                ("meta", "[core]"),
                ("key", "editor"),
                ("key", "autocrlf"),
                ("literal", "false"),
            ],
        );
        assert_spans(
            "\"quoted\": yes # c\nurl: http://x#y\nlist:\n  - enabled: true",
            Language::Yaml,
            &[
                ("key", "&quot;quoted&quot;"),
                ("comment", "# c"),
                ("key", "url"),
                ("key", "enabled"),
                ("literal", "true"),
            ],
        );
        assert!(!highlight("url: http://x#y", Language::Yaml).contains("hl-comment"));
    }

    #[test]
    fn markup_tags_attributes_and_comments() {
        assert_spans(
            "<!DOCTYPE html>\n<!-- note -->\n<a href=\"/x\" data-id='1' hidden>link &amp; text</a>",
            Language::Markup,
            &[
                ("meta", "&lt;!DOCTYPE html&gt;"),
                ("comment", "&lt;!-- note --&gt;"),
                ("tag", "a"),
                ("attr", "href"),
                ("string", "&quot;/x&quot;"),
                ("attr", "data-id"),
                ("string", "&#39;1&#39;"),
                ("attr", "hidden"),
            ],
        );
        let html = highlight("<a>text</a>", Language::Markup);
        assert!(html.ends_with("text&lt;/<span class=\"hl-tag\">a</span>&gt;"), "{html}");
    }

    #[test]
    fn unknown_languages_get_comments_strings_and_numbers_only() {
        let html = highlight("fn if \"s\" 42 # c", Language::Other);
        assert!(
            has(&html, "string", "&quot;s&quot;")
                && has(&html, "number", "42")
                && has(&html, "comment", "# c"),
            "{html}"
        );
        assert!(!html.contains("hl-keyword"), "{html}");
        assert_eq!(highlight("fn \"s\" <b>", Language::Plain), "fn &quot;s&quot; &lt;b&gt;");
    }

    #[test]
    fn nothing_unescaped_gets_through() {
        let hostile = "<script>alert('x')</script> \"</span><img src=x onerror=alert(1)> ${<b>} '<i>' `<u>` #<p>\n/*<q>*/ <!--<s>--> @<em>";
        let languages = [
            Language::Rust,
            Language::JavaScript,
            Language::TypeScript,
            Language::Python,
            Language::Go,
            Language::Java,
            Language::Kotlin,
            Language::C,
            Language::Cpp,
            Language::CSharp,
            Language::Shell,
            Language::Yaml,
            Language::Json,
            Language::Toml,
            Language::Sql,
            Language::GraphQl,
            Language::Proto,
            Language::Dockerfile,
            Language::Markup,
            Language::Ini,
            Language::Other,
            Language::Plain,
        ];
        for language in languages {
            let html = highlight(hostile, language);
            // Every `<` left is one of ours: a span opening or closing.
            let stripped = html.replace("</span>", "");
            let stripped =
                CLASSES.iter().fold(stripped, |s, class| s.replace(&format!("<span class=\"{class}\">"), ""));
            assert!(!stripped.contains('<') && !stripped.contains('>'), "{language:?}: {html}");
            assert_eq!(
                stripped
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&amp;", "&"),
                hostile,
                "{language:?}"
            );
        }
    }

    #[test]
    fn span_budget_caps_the_markup() {
        let mut budget = SpanBudget::new(3);
        let html = highlight_with_budget("1 2 3 4 5", Language::Other, &mut budget);
        assert_eq!(html.matches("<span").count(), 3, "{html}");
        assert!(html.ends_with("3</span> 4 5"), "{html}");
        assert!(budget.is_spent());
    }

    #[test]
    fn huge_and_adversarial_inputs_take_linear_time() {
        // A quadratic step would take many seconds on each of these; linear work takes milliseconds.
        let one_mb = 1024 * 1024;
        let big = one_mb / 8;
        let adversarial = [
            "/*".repeat(big / 2),
            "\"".repeat(big),
            "\"\"\"\\".repeat(big / 4),
            "'a".repeat(big / 2),
            "r#".repeat(big / 2),
            format!("r{}", "#".repeat(big)),
            "${".repeat(big / 2),
            "<a b='".repeat(big / 6),
            "</".repeat(big / 2),
            "<!--".repeat(big / 4),
            "x: ".repeat(big / 3),
            format!("\"k\"{}", " ".repeat(big)),
            " ".repeat(big),
        ];
        let languages = [
            Language::Rust,
            Language::Python,
            Language::CSharp,
            Language::Shell,
            Language::Json,
            Language::Markup,
            Language::Yaml,
            Language::Toml,
        ];
        for (i, input) in adversarial.iter().enumerate() {
            for language in languages {
                let started = Instant::now();
                let html = highlight(input, language);
                let took = started.elapsed();
                assert!(took < Duration::from_secs(2), "input {i} as {language:?} took {took:?}");
                assert!(html.len() <= input.len() * 6 + DEFAULT_MAX_SPANS * 40, "input {i} as {language:?}");
            }
        }

        let ten_mb_of_code = "fn x() { let s = \"a\\\"b\"; } // c <b>\n".repeat(10 * one_mb / 36);
        let started = Instant::now();
        let html = highlight(&ten_mb_of_code, Language::Rust);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "10 MB took {took:?}");
        assert_eq!(html.matches("<span").count(), DEFAULT_MAX_SPANS);
        assert!(html.ends_with("// c &lt;b&gt;\n"), "escaped to the end");
    }
}
