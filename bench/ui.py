#!/usr/bin/env python3
"""Measures the web UI at catalog scale (standard library only).

    python3 bench/ui.py [N] [--port 7108] [--requests 50] [--keep]

Generates a catalog of N entities (default 10,000) with the peer harness's gen-catalog.py,
serves it with the release build (target/release/portico serve, on a fresh SQLite file),
waits for ingestion, then measures on localhost:

* server time of the catalog page (plain, filtered by kind and owner, and with a text filter)
  and of an entity page: median and p95 of --requests sequential requests after 5 warm-ups,
  timed client-side from sending the request to reading the last byte of the answer, over one
  kept-alive connection, with `Accept-Encoding: gzip` as a browser sends it;
* bytes transferred on a cold load of /catalog: the page and every script, stylesheet and icon
  it references, each requested with `Accept-Encoding: gzip`, summed as sent (compressed body;
  headers reported separately).

Results go to stdout and bench/results/ui-N.json. Build first: cargo build --release --bin portico.
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.environ.get("PEER_DIR", os.path.join(ROOT, "..", "shared", "bench", "backstage-peer"))


def request(conn, path):
    """GETs path; returns (status, headers, raw body bytes, header bytes)."""
    conn.request("GET", path, headers={"Accept-Encoding": "gzip", "Accept": "text/html,*/*"})
    resp = conn.getresponse()
    body = resp.read()
    head = len(f"HTTP/1.1 {resp.status} {resp.reason}\r\n") + len(str(resp.msg)) + 2
    return resp.status, resp.msg, body, head


def timed(port, path, runs):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(5):
        status, _, _, _ = request(conn, path)
        if status != 200:
            sys.exit(f"{path} answered {status}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        request(conn, path)
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    times.sort()
    return {
        "path": path,
        "runs": runs,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
    }


def cold_load(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    status, headers, body, head = request(conn, path)
    if status != 200:
        sys.exit(f"{path} answered {status}")
    html = body
    if headers.get("Content-Encoding") == "gzip":
        import gzip

        html = gzip.decompress(body)
    text = html.decode("utf-8")
    assets = sorted(
        set(re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="(/[^"]*)"', text))
        | set(re.findall(r'<img\b[^>]*?\bsrc="(/[^"]*)"', text))
    )
    items = [{"path": path, "bytes": len(body), "header_bytes": head, "encoding": headers.get("Content-Encoding")}]
    for asset in assets:
        status, headers, body, head = request(conn, asset)
        if status != 200:
            sys.exit(f"{asset} answered {status}")
        items.append(
            {"path": asset, "bytes": len(body), "header_bytes": head, "encoding": headers.get("Content-Encoding")}
        )
    conn.close()
    return {
        "items": items,
        "body_bytes": sum(i["bytes"] for i in items),
        "total_bytes": sum(i["bytes"] + i["header_bytes"] for i in items),
    }


def get_json(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    return data


def wait_for_ingestion(port, n, server, timeout=1800):
    deadline = time.time() + timeout
    last, stable_since = -1, time.time()
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit("the server stopped; see its log")
        try:
            total = get_json(port, "/api/catalog/entities/by-query?limit=1")["totalItems"]
        except (OSError, ValueError, KeyError):
            total = -1
        if total != last:
            last, stable_since = total, time.time()
        elif total >= n and time.time() - stable_since > 3:
            return total
        time.sleep(0.5)
    sys.exit(f"ingestion did not finish ({last} entities)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10000)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORTICO_UI_BENCH_PORT", 7108)))
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    work = os.path.join(ROOT, "bench", "work")
    results = os.path.join(ROOT, "bench", "results")
    os.makedirs(work, exist_ok=True)
    os.makedirs(results, exist_ok=True)
    catalog = os.path.join(work, f"catalog-{args.n}")
    subprocess.run(
        [sys.executable, os.path.join(PEER, "gen-catalog.py"), str(args.n), "--out", catalog, "--seed", "42"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    db = os.path.join(work, f"portico-ui-{args.n}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    config = os.path.join(work, f"portico-ui-{args.n}.yaml")
    with open(config, "w") as f:
        f.write(
            f"""# Generated by bench/ui.py; rewritten on every run.
backend:
  baseUrl: http://127.0.0.1:{args.port}
  listen:
    host: 127.0.0.1
    port: {args.port}
  database:
    client: better-sqlite3
    connection: {db}
catalog:
  rules:
    - allow: [Component, System, API, Resource, Location, Domain, Group, User, Template]
  locations:
    - type: file
      target: {catalog}/location.yaml
"""
        )
    binary = os.path.join(ROOT, "target", "release", "portico")
    log = open(os.path.join(results, f"ui-{args.n}.log"), "w")
    server = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=log)
    try:
        total = wait_for_ingestion(args.port, args.n, server)
        component = get_json(args.port, "/api/catalog/entities/by-query?filter=kind=component&limit=1")["items"][0]
        name = component["metadata"]["name"]
        owner = component["spec"]["owner"]
        owner_ref = owner if ":" in owner else f"group:default/{owner}"
        word = name.split("-")[0]
        q = urllib.parse.quote
        pages = [
            timed(args.port, "/catalog", args.requests),
            timed(args.port, f"/catalog?kind=component&owner={q(owner_ref, safe='')}", args.requests),
            timed(args.port, f"/catalog?kind=component&q={q(word)}", args.requests),
            timed(args.port, f"/catalog/default/component/{q(name)}", args.requests),
            timed(args.port, f"/catalog/default/component/{q(name)}/dependencies", args.requests),
        ]
        cold = cold_load(args.port, "/catalog")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    report = {"entities": total, "pages": pages, "cold_load": cold}
    with open(os.path.join(results, f"ui-{args.n}.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"{total} entities in the catalog")
    for page in pages:
        print(f"{page['path']}: median {page['median_ms']} ms, p95 {page['p95_ms']} ms ({page['runs']} requests)")
    for item in cold["items"]:
        print(f"  {item['path']}: {item['bytes']} B ({item['encoding'] or 'identity'}) + {item['header_bytes']} B headers")
    print(
        f"cold load of /catalog: {cold['body_bytes']} B of bodies, {cold['total_bytes']} B with headers "
        f"({cold['total_bytes'] / 1024:.1f} KiB)"
    )


if __name__ == "__main__":
    main()
