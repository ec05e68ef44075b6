#!/usr/bin/env python3
"""Times a server restart on an already-filled catalog database.

Standard library only. Starts the server command, then polls (every 5 ms):
  * readyz_s       process start -> GET /readyz answers 200
  * entities_s     process start -> GET /api/catalog/entities?limit=1 answers 200
  * all_visible_s  process start -> all N generated entities are listed (N from
                   <catalog>/manifest.json), i.e. nothing had to be re-ingested first
Then lets the server idle for --settle seconds (start-up processing included) and reads
the peak RSS (VmHWM) of the process. Last, on the settled server, it times single requests of
the by-query cursor walk that bench.py only times as a whole (--requests each, sequentially on
one keep-alive connection, timed from sending to the last byte read, as bench.py times every
request):
  * first_page    by-query filter=kind=component limit=50
  * cursor_page   the first page's nextCursor, which carries no limit: the default 200 entities
and how long the client's own json.loads of each response takes, which bench.py's walk
includes for three of its four responses.

  python3 bench/restart.py --url http://127.0.0.1:7107 --catalog bench/work/catalog-10000 \
      --json out.json -- target/release/portico serve --config bench/work/portico-sqlite-10000.yaml
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse


def get(url, path, timeout=5):
    """Returns (status, body) of one GET, or (None, None) when nothing answers."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (http.client.HTTPException, OSError):
        return None, None
    finally:
        conn.close()


def vm(pid, key):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def median(values):
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def p99(values):
    s = sorted(values)
    return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]


def time_requests(url, path, requests, warmup=10):
    """Sequential GETs of one path on one keep-alive connection: request and parse timings."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
    request_s, parse_s, size = [], [], 0
    try:
        for i in range(warmup + requests):
            t = time.perf_counter()
            conn.request("GET", path, headers={"Accept": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            t1 = time.perf_counter()
            if resp.status != 200:
                raise SystemExit(f"GET {path} -> {resp.status}: {raw[:300]!r}")
            json.loads(raw)
            t2 = time.perf_counter()
            if i >= warmup:
                request_s.append(t1 - t)
                parse_s.append(t2 - t1)
                size = len(raw)
    finally:
        conn.close()
    return {"bytes": size, "median_ms": median(request_s) * 1000, "p99_ms": p99(request_s) * 1000,
            "client_parse_median_ms": median(parse_s) * 1000}


def walk_requests(url, requests):
    """Times the first page of bench.py's cursor walk and the cursor page it links to."""
    first = "/api/catalog/entities/by-query?filter=kind=component&limit=50"
    status, raw = get(url, first)
    if status != 200:
        raise SystemExit(f"GET {first} -> {status}")
    cursor = json.loads(raw)["pageInfo"]["nextCursor"]
    return {
        "first_page": time_requests(url, first, requests),
        "cursor_page": time_requests(url, f"/api/catalog/entities/by-query?cursor={urllib.parse.quote(cursor)}",
                                     requests),
    }


def visible(url):
    """Number of listed entities that are not Location entities, or None."""
    counts = []
    for query in ("limit=1", "limit=1&filter=kind=location"):
        status, raw = get(url, f"/api/catalog/entities/by-query?{query}")
        if status != 200:
            return None
        counts.append(json.loads(raw)["totalItems"])
    return counts[0] - counts[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--catalog", required=True, help="folder written by gen-catalog.py")
    ap.add_argument("--timeout", type=float, default=120, help="seconds to wait for each phase")
    ap.add_argument("--settle", type=float, default=5, help="seconds to idle before reading peak RSS")
    ap.add_argument("--json", help="write the result as JSON here")
    ap.add_argument("--server-log", help="file for the server's stdout+stderr")
    ap.add_argument("--label", default="")
    ap.add_argument("--requests", type=int, default=200, help="timed requests of each cursor-walk page")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command to launch the server")
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("give the server command after --")
    with open(os.path.join(args.catalog, "manifest.json")) as fh:
        n = json.load(fh)["n"]

    logf = open(args.server_log, "wb") if args.server_log else subprocess.DEVNULL
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    result = {"label": args.label, "n": n}
    try:
        pending = {"readyz_s": "/readyz", "entities_s": "/api/catalog/entities?limit=1"}
        while pending:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with code {proc.returncode} before answering")
            if time.time() - t0 > args.timeout:
                raise SystemExit(f"no answer after {args.timeout} s from {sorted(pending.values())}")
            for key, path in list(pending.items()):
                if get(args.url, path)[0] == 200:
                    result[key] = time.time() - t0
                    del pending[key]
            time.sleep(0.005)
        while True:
            count = visible(args.url)
            if count is not None and count >= n:
                result["all_visible_s"] = time.time() - t0
                break
            if time.time() - t0 > args.timeout:
                result["all_visible_s"] = None
                break
            time.sleep(0.05)
        result["visible_count"] = count
        time.sleep(args.settle)
        result["peak_rss_bytes"] = vm(proc.pid, "VmHWM")
        result["rss_end_bytes"] = vm(proc.pid, "VmRSS")
        result.update(walk_requests(args.url, args.requests))
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)

    def s(v):
        return f"{v:.3f} s" if isinstance(v, (int, float)) else "n/a"

    def m(v):
        return f"{v / 1048576:.0f} MiB" if v else "n/a"

    print(f"\n## {args.label or 'restart'}  N={n}")
    print(f"/readyz 200 after process start:              {s(result.get('readyz_s'))}")
    print(f"/api/catalog/entities?limit=1 200:            {s(result.get('entities_s'))}")
    print(f"all {n} visible:                        {s(result.get('all_visible_s'))}")
    print(f"peak RSS (VmHWM) after {args.settle:g} s idle:            {m(result.get('peak_rss_bytes'))};"
          f" RSS at end: {m(result.get('rss_end_bytes'))}")
    for key, label in (("first_page", "by-query limit=50, first page"), ("cursor_page", "its nextCursor page")):
        page = result.get(key) or {}
        print(f"{label}: {page.get('bytes', 0):,} bytes, seq median {page.get('median_ms', 0):.2f} ms, "
              f"p99 {page.get('p99_ms', 0):.2f} ms; the client's json.loads {page.get('client_parse_median_ms', 0):.2f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
