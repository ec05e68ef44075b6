#!/usr/bin/env python3
"""Times a server restart on an already-filled catalog database.

Standard library only. Starts the server command, then polls (every 5 ms):
  * readyz_s       process start -> GET /readyz answers 200
  * entities_s     process start -> GET /api/catalog/entities?limit=1 answers 200
  * all_visible_s  process start -> all N generated entities are listed (N from
                   <catalog>/manifest.json), i.e. nothing had to be re-ingested first
Then lets the server idle for --settle seconds (start-up processing included) and reads
the peak RSS (VmHWM) of the process before stopping it.

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
    sys.stdout.flush()


if __name__ == "__main__":
    main()
