//! Build times of the native TechDocs build: the demo site, and a generated site of 1,000
//! realistic pages (headings, paragraphs, lists, tables, code blocks, admonitions, links
//! between pages, images) built cold, rebuilt after one page changed (in place, and into a
//! fresh staging folder next to the published build), rebuilt with nothing changed, and its
//! source fingerprint.
//!
//! `cargo bench -p portico-techdocs --bench build` prints the median and maximum of each case.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portico_techdocs::build::source_fingerprint;
use portico_techdocs::{BuildOptions, BuildReport, build_site};

const SECTIONS: usize = 20;
const PAGES_PER_SECTION: usize = 50;
const IMAGES: usize = 25;

const WORDS: [&str; 24] = [
    "service", "payments", "deploy", "cluster", "request", "latency", "owner", "schema", "queue", "consumer",
    "retry", "budget", "gateway", "token", "metrics", "alert", "rollout", "config", "storage", "replica",
    "shard", "cache", "catalog", "pipeline",
];

/// A small deterministic generator, so every run builds the same site.
struct Words(u64);

impl Words {
    fn next(&mut self) -> &'static str {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        WORDS[(self.0 >> 33) as usize % WORDS.len()]
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut out: Vec<&str> = (0..words).map(|_| self.next()).collect();
        let first = out[0];
        let capital = format!("{}{}", first[..1].to_uppercase(), &first[1..]);
        out[0] = &capital;
        format!("{}.", out.join(" "))
    }

    fn paragraph(&mut self, sentences: usize) -> String {
        (0..sentences).map(|_| self.sentence(12)).collect::<Vec<_>>().join(" ")
    }
}

fn page_path(section: usize, page: usize) -> String {
    if page == 0 {
        format!("section-{section:02}/index.md")
    } else {
        format!("section-{section:02}/page-{page:03}.md")
    }
}

fn page_text(section: usize, page: usize) -> String {
    let mut words = Words((section * 1000 + page) as u64);
    let title = format!("{} {} guide {section}.{page}", words.next(), words.next());
    let next = page_path((section + 1) % SECTIONS, (page * 7 + 3) % PAGES_PER_SECTION);
    let sibling = page_path(section, (page + 1) % PAGES_PER_SECTION);
    let sibling = sibling.rsplit('/').next().unwrap_or_default();
    let mut text = format!("# {title}\n\n{}\n\n", words.paragraph(3));
    text.push_str(&format!(
        "See [the next part]({sibling}), [a related page](../{next}#overview) and [the home page](../index.md).\n\n"
    ));
    text.push_str(&format!("## Overview\n\n{}\n\n{}\n\n", words.paragraph(4), words.paragraph(3)));
    for _ in 0..5 {
        text.push_str(&format!("- **{}**: {} `{}`\n", words.next(), words.sentence(8), words.next()));
    }
    text.push('\n');
    for i in 1..=4 {
        text.push_str(&format!("{i}. {}\n", words.sentence(10)));
    }
    text.push_str("\n## Configuration\n\n| Key | Type | Default | Description |\n|---|---|---|---|\n");
    for _ in 0..8 {
        text.push_str(&format!(
            "| `{}.{}` | string | `{}` | {} |\n",
            words.next(),
            words.next(),
            words.next(),
            words.sentence(7)
        ));
    }
    text.push_str(&format!(
        "\n```yaml\n{}:\n  {}: {}\n  replicas: {}\n  {}:\n    - {}\n    - {}\n```\n\n",
        words.next(),
        words.next(),
        words.next(),
        page % 5 + 1,
        words.next(),
        words.next(),
        words.next()
    ));
    text.push_str(&format!(
        "!!! note \"Before you start\"\n    {}\n\n??? tip\n    {}\n\n",
        words.paragraph(2),
        words.paragraph(1)
    ));
    text.push_str(&format!(
        "## Example\n\n{}\n\n```rust\nfn {}(input: &str) -> Result<String, Error> {{\n    let {} = parse(input)?;\n    Ok(format!(\"{{}}\", {}))\n}}\n```\n\n",
        words.paragraph(2),
        words.next(),
        words.next(),
        words.next()
    ));
    if page.is_multiple_of(4) {
        text.push_str(&format!(
            "![Diagram of the {}](../img/diagram-{:02}.png)\n\n",
            words.next(),
            page % IMAGES
        ));
    }
    text.push_str(&format!(
        "### Details\n\n{}\n\n> {}\n\n{}\n",
        words.paragraph(4),
        words.sentence(14),
        words.paragraph(3)
    ));
    text
}

/// Writes the 1,000-page site (with a `nav`) into `dir`.
fn generate(dir: &Path) {
    let docs = dir.join("docs");
    fs::create_dir_all(docs.join("img")).expect("docs folder");
    let mut nav = String::from("nav:\n  - Home: index.md\n");
    for section in 0..SECTIONS {
        fs::create_dir_all(docs.join(format!("section-{section:02}"))).expect("section folder");
        nav.push_str(&format!("  - Section {section}:\n"));
        for page in 0..PAGES_PER_SECTION {
            let path = page_path(section, page);
            fs::write(docs.join(&path), page_text(section, page)).expect("page");
            nav.push_str(&format!("      - {path}\n"));
        }
    }
    let home: String = (0..SECTIONS).map(|s| format!("- [Section {s}]({})\n", page_path(s, 0))).collect();
    fs::write(docs.join("index.md"), format!("# Handbook\n\n{home}")).expect("home page");
    for image in 0..IMAGES {
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(31) ^ image as u32) as u8).collect();
        fs::write(docs.join(format!("img/diagram-{image:02}.png")), bytes).expect("image");
    }
    fs::write(
        dir.join("mkdocs.yml"),
        format!("site_name: Handbook\nrepo_url: https://github.com/example/handbook\nedit_uri: edit/main/docs/\n{nav}plugins:\n  - techdocs-core\n"),
    )
    .expect("mkdocs.yml");
}

/// Runs `case` `runs` times (after one warm-up) and prints its median and maximum.
fn measure(name: &str, runs: usize, target: &str, mut case: impl FnMut(usize) -> Duration) -> Duration {
    case(usize::MAX);
    let mut times: Vec<Duration> = (0..runs).map(&mut case).collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[runs / 2];
    println!(
        "{name}: median {:.1} ms, max {:.1} ms ({runs} runs; target {target})",
        ms(median),
        ms(times[runs - 1])
    );
    median
}

fn timed(build: impl FnOnce() -> BuildReport) -> (Duration, BuildReport) {
    let start = Instant::now();
    let report = black_box(build());
    (start.elapsed(), report)
}

/// Edits one page, differently for every run.
fn change_one_page(source: &Path, run: usize) {
    let path = source.join("docs").join(page_path(7, 21));
    let text = format!("{}\nEdited in run {run}.\n", page_text(7, 21));
    fs::write(path, text).expect("edit page");
}

fn main() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/techdocs/documented-component");
    let work = tempfile::tempdir().expect("temp dir");
    // Every run builds into a folder of its own, all removed at the end: removing a built site
    // between runs would load the file system with that removal while the next build creates
    // as many folders.
    let fresh = |name: &str, run: usize| -> PathBuf { work.path().join(format!("{name}-{run}")) };
    let cold = BuildOptions { incremental: false, ..BuildOptions::default() };

    measure("demo site, cold build", 50, "≤ 50 ms", |run| {
        let out = fresh("demo", run);
        let (took, report) = timed(|| build_site(&demo, &out, &cold).expect("demo builds"));
        assert_eq!(report.rendered, 4);
        took
    });

    let source = work.path().join("handbook");
    generate(&source);
    let pages = 1 + SECTIONS * PAGES_PER_SECTION;
    let bytes: u64 = fs::read_dir(source.join("docs/section-00"))
        .expect("section")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|meta| meta.len())
        .sum();
    println!(
        "generated site: {pages} pages (about {} KiB each), {IMAGES} images",
        bytes / PAGES_PER_SECTION as u64 / 1024
    );

    measure("1,000 pages, cold build", 7, "≤ 2 s", |run| {
        let out = fresh("cold", run);
        let (took, report) = timed(|| build_site(&source, &out, &cold).expect("site builds"));
        assert_eq!(report.rendered, pages);
        took
    });

    let published = work.path().join("published");
    build_site(&source, &published, &BuildOptions::default()).expect("site builds");
    measure("1,000 pages, one page changed, in place", 15, "≤ 100 ms", |run| {
        change_one_page(&source, run);
        let (took, report) =
            timed(|| build_site(&source, &published, &BuildOptions::default()).expect("site builds"));
        assert_eq!((report.rendered, report.reused), (1, pages - 1));
        took
    });

    // The published build stays as it is; every run builds into a new staging folder.
    fs::write(source.join("docs").join(page_path(7, 21)), page_text(7, 21)).expect("restore page");
    build_site(&source, &published, &BuildOptions::default()).expect("site builds");
    let staged = BuildOptions { previous_dir: Some(published.clone()), ..BuildOptions::default() };
    measure("1,000 pages, one page changed, into staging with previous_dir", 11, "≤ 100 ms", |run| {
        change_one_page(&source, run);
        let staging = fresh("staging", run);
        let (took, report) = timed(|| build_site(&source, &staging, &staged).expect("site builds"));
        assert_eq!((report.rendered, report.reused), (1, pages - 1));
        took
    });

    // What any build into a new folder costs on this file system before reading or writing a
    // single file: MkDocs' layout gives every page a folder of its own.
    measure(
        "creating the site's page folders alone (the floor of a build into a new folder)",
        11,
        "",
        |run| {
            let root = fresh("folders", run);
            let start = Instant::now();
            for section in 0..SECTIONS {
                for page in 1..PAGES_PER_SECTION {
                    fs::create_dir_all(root.join(format!("section-{section:02}/page-{page:03}")))
                        .expect("folder");
                }
            }
            start.elapsed()
        },
    );

    fs::write(source.join("docs").join(page_path(7, 21)), page_text(7, 21)).expect("restore page");
    measure("1,000 pages, nothing changed, in place", 15, "", |_| {
        let (took, report) =
            timed(|| build_site(&source, &published, &BuildOptions::default()).expect("site builds"));
        assert_eq!(report.rendered, 0);
        took
    });

    measure("1,000 pages, source_fingerprint", 50, "", |_| {
        let start = Instant::now();
        black_box(source_fingerprint(&source).expect("fingerprint"));
        start.elapsed()
    });
}
