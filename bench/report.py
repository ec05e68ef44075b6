#!/usr/bin/env python3
"""Prints the Markdown comparison of Portico and Backstage results, with the targets.

Standard library only. Reads from --results (bench/results):
  portico-sqlite-N.json, portico-pg-N.json (bench.py), portico-restart-N.json (restart.py)
  backstage-N.json (bench/peer.sh); when absent, --peer-results/backstage-N.json is used
  and the table says so.

  python3 bench/report.py [--results DIR] [--peer-results DIR] N [N ...]
"""
import argparse
import json
import os

# Endpoint labels exactly as bench.py writes them, with the speed-up over Backstage the
# targets ask for at N=10,000 and the number of requests one sample makes.
ENDPOINTS = [
    ("list kind=component,lifecycle=production limit=100", 20, 1),
    ("by-name component", 5, 1),
    ("by-query kind=component limit=50 (page 1)", 20, 1),
    ("by-query kind=component limit=50 + 3 nextCursor pages (4 req)", 20, 4),
    ("entity-facets spec.type,spec.owner", 20, 1),
    ("by-refs 100 refs", 5, 1),
    ("by-query fullTextFilterTerm=<word>", 20, 1),
    ("by-query fullText name,title + orderField name", 20, 1),
]
MIB = 1048576


def load(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def secs(v):
    return f"{v:.2f} s" if isinstance(v, (int, float)) else "–"


def secs3(v):
    return f"{v:.3f} s" if isinstance(v, (int, float)) else "–"


def mib(v):
    return f"{v / MIB:.0f} MiB" if v else "–"


def ms(v):
    return f"{v:.2f}" if isinstance(v, (int, float)) else "–"


def ratio(slow, fast):
    if isinstance(slow, (int, float)) and isinstance(fast, (int, float)) and fast > 0:
        return f"{slow / fast:.1f}×"
    return "–"


def lat(r, label, mode, key):
    try:
        return r["latency"][label][mode][key]
    except (KeyError, TypeError):
        return None


def get(r, key):
    return r.get(key) if r else None


def md(label):
    """Escapes a bench.py label for a Markdown table (it contains `<word>`)."""
    return label.replace("<", "&lt;").replace(">", "&gt;")


def verdict(ok):
    return "–" if ok is None else ("met" if ok else "**not met**")


def table(n, sqlite, pg, bs, bs_source):
    print(f"### N = {n:,}\n")
    print(f"Backstage column: {bs_source}.\n")
    print("| measure | Portico SQLite | Portico PostgreSQL | Backstage (PostgreSQL) "
          "| Backstage ÷ Portico SQLite | Portico PG ÷ SQLite |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [
        ("ready (process start → `/entities?limit=1` 200)", "ready_s", secs),
        ("all N visible", "all_visible_s", secs),
        ("probe relations consistent", "consistent_s", secs),
    ]
    for name, key, fmt in rows:
        a, b, c = get(sqlite, key), get(pg, key), get(bs, key)
        print(f"| {name} | {fmt(a)} | {fmt(b)} | {fmt(c)} | {ratio(c, a)} | {ratio(b, a)} |")
    for name, key in [("peak RSS during ingestion (VmHWM)", "ingest_peak_rss_bytes"),
                      ("peak RSS overall (VmHWM)", "peak_rss_bytes")]:
        a, b, c = get(sqlite, key), get(pg, key), get(bs, key)
        print(f"| {name} | {mib(a)} | {mib(b)} | {mib(c)} | {ratio(c, a)} | {ratio(b, a)} |")
    a, b = get(pg, "pg_pss_peak_bytes"), get(bs, "pg_pss_peak_bytes")
    print(f"| PostgreSQL processes, peak summed PSS | – | {mib(a)} | {mib(b)} | – | – |")
    for label, _, _ in ENDPOINTS:
        for mode, key, name in [("seq", "median_ms", "seq median ms"), ("seq", "p99_ms", "seq p99 ms"),
                                ("conc", "median_ms", "c=4 median ms")]:
            a, b, c = (lat(x, label, mode, key) for x in (sqlite, pg, bs))
            print(f"| {md(label)} — {name} | {ms(a)} | {ms(b)} | {ms(c)} | {ratio(c, a)} | {ratio(b, a)} |")
    errors = sum(lat(sqlite, l, m, "errors") or 0 for l, _, _ in ENDPOINTS for m in ("seq", "conc"))
    errors_pg = sum(lat(pg, l, m, "errors") or 0 for l, _, _ in ENDPOINTS for m in ("seq", "conc"))
    print(f"| request errors | {errors if sqlite else '–'} | {errors_pg if pg else '–'} | – | – | – |")
    print()


def targets_10k(sqlite, pg, bs, restart):
    print("### Targets at N = 10,000\n")
    print("| target | measured | verdict |")
    print("|---|---|---|")
    v = get(sqlite, "all_visible_s")
    print(f"| all N visible ≤ 3 s after start (SQLite) | {secs(v)} | {verdict(None if v is None else v <= 3)} |")
    for label, factor, per in ENDPOINTS:
        a, c = lat(sqlite, label, "seq", "median_ms"), lat(bs, label, "seq", "median_ms")
        ok = None if a is None or c is None else c / a >= factor
        print(f"| {md(label)}: seq median ≥ {factor}× faster than Backstage | {ms(a)} ms vs {ms(c)} ms "
              f"= {ratio(c, a)} | {verdict(ok)} |")
    # Every endpoint bench.py times is one request except the cursor walk. restart.py times its
    # cursor page on its own; without that, the page is estimated as (walk - first page) / 3,
    # which also counts the client's JSON parsing of the responses.
    per_request = {label: lat(sqlite, label, "seq", "median_ms") for label, _, per in ENDPOINTS if per == 1}
    cursor_page = (restart or {}).get("cursor_page")
    walk = lat(sqlite, ENDPOINTS[3][0], "seq", "median_ms")
    if cursor_page:
        per_request["by-query nextCursor page (200 entities, timed after the restart)"] = cursor_page["median_ms"]
    elif walk is not None:
        first = lat(sqlite, ENDPOINTS[2][0], "seq", "median_ms") or 0
        per_request["by-query nextCursor page (estimated)"] = (walk - first) / (ENDPOINTS[3][2] - 1)
    per_request = {label: v for label, v in per_request.items() if v is not None}
    if per_request:
        label, worst = max(per_request.items(), key=lambda kv: kv[1])
        print(f"| no single request slower than 2 ms at the median | slowest: {md(label)} {worst:.2f} ms "
              f"| {verdict(worst <= 2)} |")
    r = get(sqlite, "peak_rss_bytes")
    print(f"| peak RSS ≤ 64 MiB (SQLite) | {mib(r)} | {verdict(None if r is None else r <= 64 * MIB)} |")
    rz, re_ = get(restart, "readyz_s"), get(restart, "entities_s")
    ok = None if rz is None or re_ is None else max(rz, re_) <= 0.3
    print(f"| ready ≤ 0.3 s after start with 10,000 entities stored | `/readyz` {secs3(rz)}, "
          f"`/entities?limit=1` {secs3(re_)} | {verdict(ok)} |")
    if pg and sqlite:
        worse = []
        for label, _, _ in ENDPOINTS:
            a, b = lat(sqlite, label, "seq", "median_ms"), lat(pg, label, "seq", "median_ms")
            if a is not None and b is not None and b > 2 * a:
                worse.append(f"{md(label)} {ratio(b, a)}")
        a, b = get(sqlite, "all_visible_s"), get(pg, "all_visible_s")
        if a is not None and b is not None and b > 2 * a:
            worse.append(f"all visible {ratio(b, a)}")
        print(f"| PostgreSQL within 2× of SQLite (all visible, seq medians) | "
              f"{'; '.join(worse) if worse else 'all within 2×'} | {verdict(not worse)} |")
    print()


def walk_floor(restart, bs):
    """What the client itself spends in bench.py's cursor walk, from restart.py's timings."""
    first, cursor = ((restart or {}).get(k) for k in ("first_page", "cursor_page"))
    if not first or not cursor:
        return
    # The walk parses the first page and two cursor pages; the fourth response is only read.
    parse = first["client_parse_median_ms"] + 2 * cursor["client_parse_median_ms"]
    requests = first["median_ms"] + 3 * cursor["median_ms"]
    label, factor, _ = ENDPOINTS[3]
    walk_bs = lat(bs, label, "seq", "median_ms")
    allowed = f"; {factor}× faster than Backstage's {ms(walk_bs)} ms allows {walk_bs / factor:.2f} ms" if walk_bs else ""
    print(f"The cursor walk timed request by request on the restarted server (N = 10,000): the first page "
          f"{first['median_ms']:.2f} ms ({first['bytes'] / 1000:.0f} kB), each cursor page "
          f"{cursor['median_ms']:.2f} ms ({cursor['bytes'] / 1000:.0f} kB), {requests:.2f} ms for the four requests; "
          f"the client's `json.loads` of the three responses the walk parses takes {parse:.2f} ms more{allowed}.\n")


def targets_100k(big, small):
    print("### Targets at N = 100,000 (SQLite)\n")
    print("| target | measured | verdict |")
    print("|---|---|---|")
    v = get(big, "all_visible_s")
    print(f"| ingestion ≤ 30 s (all N visible) | {secs(v)} | {verdict(None if v is None else v <= 30)} |")
    for label, _, _ in ENDPOINTS:
        a, b = lat(small, label, "seq", "median_ms"), lat(big, label, "seq", "median_ms")
        ok = None if a is None or b is None else b <= 2 * a
        print(f"| {md(label)}: seq median within 2× of N=10,000 | {ms(b)} ms vs {ms(a)} ms = {ratio(b, a)} "
              f"| {verdict(ok)} |")
    r = get(big, "peak_rss_bytes")
    print(f"| peak RSS ≤ 256 MiB | {mib(r)} | {verdict(None if r is None else r <= 256 * MIB)} |")
    print()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=os.path.join(here, "results"))
    ap.add_argument("--peer-results", help="reference Backstage results, used when --results has none")
    ap.add_argument("n", nargs="+", type=int)
    args = ap.parse_args()

    def res(name):
        return load(os.path.join(args.results, name))

    for n in args.n:
        sqlite, pg, restart = res(f"portico-sqlite-{n}.json"), res(f"portico-pg-{n}.json"), res(
            f"portico-restart-{n}.json")
        bs, source = res(f"backstage-{n}.json"), "measured on this machine (bench/peer.sh)"
        if bs is None and args.peer_results:
            bs = load(os.path.join(args.peer_results, f"backstage-{n}.json"))
            source = "the peer harness's reference results (not measured in this run)"
        if bs is None:
            source = "no result"
        table(n, sqlite, pg, bs, source)
        if restart:
            print(f"Restart on the filled SQLite file (N = {n:,}): `/readyz` 200 after "
                  f"{secs3(restart.get('readyz_s'))}, `/entities?limit=1` 200 after "
                  f"{secs3(restart.get('entities_s'))}, all N visible after {secs(restart.get('all_visible_s'))}, "
                  f"peak RSS {mib(restart.get('peak_rss_bytes'))}.\n")
        if n == 10000:
            targets_10k(sqlite, pg, bs, restart)
            walk_floor(restart, bs)
        if n == 100000:
            targets_100k(sqlite, res("portico-sqlite-10000.json"))


if __name__ == "__main__":
    main()
