#!/usr/bin/env python3
"""Measures TechDocs in the running portal (standard library only).

    python3 bench/docs.py [PAGES] [--port 7109] [--requests 200] [--keep]

Generates a docs-like-code repository of PAGES Markdown pages (default 1,000: headings,
paragraphs, lists, tables, code blocks, admonitions, links between pages) with a
catalog-info.yaml carrying `backstage.io/techdocs-ref: dir:.`, serves it with the release build
(target/release/portico serve, fresh SQLite file, checks every 500 ms), then measures on
localhost:

* time from start until the site is published (catalog ingestion + first build);
* server time of a reader page (/docs/<triplet>/<page>/, inside the shell) and of the same
  page from /api/techdocs/static/docs: median and p95 of --requests sequential requests after 5
  warm-ups over one kept-alive connection, timed client-side;
* time from saving an edited page to the reader showing the edit (incremental rebuild of one
  page, found by the periodic check);
* with --mkdocs PATH (an `mkdocs` executable, e.g. from `pip install mkdocs` in a virtualenv):
  `mkdocs build` against `portico docs build --full` on the same repository, 3 runs each, as
  separate processes (MkDocs is what Backstage runs to build TechDocs).

Results go to stdout and bench/results/docs-PAGES.json. Build first:
cargo build --release --bin portico.
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from ui import timed  # the same request timing as the web UI benchmark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def page_markdown(section, page, sections, per_section):
    nxt = (page + 1) % per_section
    other = (section + 1) % sections
    return f"""# Section {section} page {page}

This page explains part {page} of area {section}: how the service handles requests, retries and
timeouts, and what operators look at when something goes wrong.

## Overview

- Requests arrive through the gateway and are routed by path.
- Each handler validates input, then calls the store.
- Errors are returned with a code and a message.

See [the next page](page-{nxt}.md) and [another area](../section-{other}/page-0.md).

## Configuration

| key | default | meaning |
|---|---|---|
| timeout | 30s | how long a request may take |
| retries | 3 | how often a failed call is retried |
| pool | 16 | connections kept open |

```rust
fn handle(request: Request) -> Result<Response, Error> {{
    let input = validate(&request)?;
    store.save(input)
}}
```

!!! note "Operations"
    Restart the service with `systemctl restart service-{section}` after changing its settings.

### Details {page}

Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut
labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco.
"""


def generate(root, pages):
    per_section = 50
    sections = max(1, (pages + per_section - 1) // per_section)
    docs = os.path.join(root, "docs")
    os.makedirs(docs)
    nav = ["nav:", "  - Home: index.md"]
    with open(os.path.join(docs, "index.md"), "w") as f:
        f.write("# Handbook\n\nThe generated handbook.\n")
    written = 1
    for section in range(sections):
        os.makedirs(os.path.join(docs, f"section-{section}"))
        nav.append(f"  - Section {section}:")
        for page in range(per_section):
            if written >= pages:
                break
            with open(os.path.join(docs, f"section-{section}", f"page-{page}.md"), "w") as f:
                f.write(page_markdown(section, page, sections, per_section))
            nav.append(f"    - section-{section}/page-{page}.md")
            written += 1
    with open(os.path.join(root, "mkdocs.yml"), "w") as f:
        f.write("site_name: Generated handbook\n" + "\n".join(nav) + "\n")
    with open(os.path.join(root, "catalog-info.yaml"), "w") as f:
        f.write(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: handbook\n"
            "  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n"
            "  lifecycle: production\n  owner: team-a\n"
        )


def build_record(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/techdocs/builds/default/component/handbook")
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return json.loads(body) if resp.status == 200 else None
    except (OSError, ValueError):
        return None


def page_text(port, path):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        conn.close()
        return body
    except OSError:
        return ""


def median_run(command, runs=3):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def compare_builds(binary, mkdocs, repo, work):
    portico_s = median_run([binary, "docs", "build", repo, "--output", os.path.join(work, "portico-site"), "--full"])
    mkdocs_s = median_run([mkdocs, "build", "-q", "-f", os.path.join(repo, "mkdocs.yml"), "-d", os.path.join(work, "mkdocs-site")])
    version = subprocess.run([mkdocs, "--version"], capture_output=True, text=True).stdout.strip()
    return {"portico_s": portico_s, "mkdocs_s": mkdocs_s, "ratio": round(mkdocs_s / portico_s, 1), "mkdocs": version}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pages", nargs="?", type=int, default=1000)
    parser.add_argument("--port", type=int, default=7109)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--mkdocs", help="an mkdocs executable to compare the build with")
    args = parser.parse_args()
    binary = os.path.join(ROOT, "target", "release", "portico")
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release --bin portico")
    work = tempfile.mkdtemp(prefix="portico-docs-bench-")
    repo = os.path.join(work, "repo")
    os.makedirs(repo)
    generate(repo, args.pages)
    config = os.path.join(work, "app-config.yaml")
    with open(config, "w") as f:
        f.write(
            f"backend:\n  listen:\n    port: {args.port}\n  database:\n    client: better-sqlite3\n"
            f"    connection: {work}/portico.db\ncatalog:\n  locations:\n    - type: file\n"
            f"      target: {repo}/catalog-info.yaml\ntechdocs:\n  checkInterval: 500ms\n"
        )
    log = open(os.path.join(work, "server.log"), "w")
    started = time.perf_counter()
    server = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=log)
    try:
        deadline = time.time() + 120
        record = None
        while time.time() < deadline:
            if server.poll() is not None:
                sys.exit(f"the server stopped; see {work}/server.log")
            record = build_record(args.port)
            if record and record.get("published"):
                break
            time.sleep(0.05)
        else:
            sys.exit("the docs were not published in time")
        first_publish_s = round(time.perf_counter() - started, 3)
        page = "section-3/page-7/"
        reader = timed(args.port, f"/docs/default/component/handbook/{page}", args.requests)
        static = timed(args.port, f"/api/techdocs/static/docs/default/component/handbook/{page}index.html", args.requests)

        before_edit = build_record(args.port)
        source = os.path.join(repo, "docs", "section-3", "page-7.md")
        with open(source, "a") as f:
            f.write("\nA freshly saved sentence with the word heliotrope.\n")
        saved = time.perf_counter()
        while "heliotrope" not in page_text(args.port, f"/docs/default/component/handbook/{page}"):
            if time.perf_counter() - saved > 60:
                sys.exit("the edit did not show up")
            time.sleep(0.02)
        edit_visible_ms = round((time.perf_counter() - saved) * 1000, 1)
        record = build_record(args.port)
        while record.get("finishedAt") == before_edit.get("finishedAt"):
            time.sleep(0.02)
            record = build_record(args.port)
        result = {
            "pages": args.pages,
            "first_publish_s": first_publish_s,
            "reader_page": reader,
            "static_page": static,
            "edit_visible_ms": edit_visible_ms,
            "first_build": {k: before_edit.get(k) for k in ("durationMs", "pagesRendered", "pagesReused")},
            "rebuild": {k: record.get(k) for k in ("durationMs", "pagesRendered", "pagesReused")},
        }
        if args.mkdocs:
            result["cli_build"] = compare_builds(binary, args.mkdocs, repo, work)
        print(json.dumps(result, indent=2))
        out = os.path.join(ROOT, "bench", "results")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"docs-{args.pages}.json"), "w") as f:
            json.dump(result, f, indent=2)
    finally:
        server.terminate()
        server.wait()
        log.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


if __name__ == "__main__":
    main()
