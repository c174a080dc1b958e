#!/usr/bin/env python3
"""Slow and idle connections against a running specstub (used by benches/connections.sh).

    connections.py URL SERVER_PID --connections N --wait SECONDS

Opens N connections to URL in four kinds, a quarter each: a client that sends one header byte
every 3 s, a silent one, an idle keep-alive one (one request answered, then nothing) and a short
body (Content-Length 100, 10 bytes sent). Meanwhile a normal client asks GET /v1/pets every
0.5 s. Prints one JSON object: how many of the N connections the client still sees open (and the
server's open descriptors) 1 s after they are all opened and after --wait seconds, and how the
normal client fared. 127.0.0.1 only; every wait is bounded.
"""

import argparse
import asyncio
import json
import os
import resource
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

REQUEST = b"GET /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\n\r\n"
SHORT_BODY = (
    b"POST /v1/pets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\n"
    b"content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"name\":\""
)
KINDS = ("slow-header", "silent", "idle-keepalive", "short-body")


def server_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def server_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Conn:
    def __init__(self, kind):
        self.kind = kind
        self.opened = False
        self.closed_at = None


async def hold(host, port, conn, started, stop):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    except (OSError, asyncio.TimeoutError):
        return
    conn.opened = True

    async def until_closed():
        try:
            while await reader.read(4096):
                pass
        except OSError:
            pass
        conn.closed_at = time.monotonic() - started

    watcher = asyncio.ensure_future(until_closed())
    try:
        if conn.kind == "slow-header":
            for b in REQUEST:
                if watcher.done() or stop.is_set():
                    break
                writer.write(bytes([b]))
                await writer.drain()
                try:
                    await asyncio.wait_for(asyncio.shield(watcher), 3)
                except asyncio.TimeoutError:
                    pass
        elif conn.kind == "idle-keepalive":
            writer.write(REQUEST)
            await writer.drain()
        elif conn.kind == "short-body":
            writer.write(SHORT_BODY)
            await writer.drain()
    except OSError:
        pass
    stop_wait = asyncio.ensure_future(stop.wait())
    await asyncio.wait([watcher, stop_wait], return_when=asyncio.FIRST_COMPLETED)
    stop_wait.cancel()
    watcher.cancel()
    writer.close()


def normal_client(url, stop, results):
    while not stop.is_set():
        t0 = time.monotonic()
        req = urllib.request.Request(url + "/v1/pets", headers={"authorization": "Bearer t"})
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                r.read()
                results.append((r.status, time.monotonic() - t0))
        except urllib.error.HTTPError as e:
            results.append((e.code, time.monotonic() - t0))
        except Exception:
            results.append((0, time.monotonic() - t0))
        stop.wait(0.5)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pid", type=int)
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--wait", type=float, default=75)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.connections + 256)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    u = urlparse(args.url)
    host, port = u.hostname, u.port

    results = []
    client_stop = threading.Event()
    client = threading.Thread(target=normal_client, args=(args.url, client_stop, results), daemon=True)
    client.start()

    started = time.monotonic()
    stop = asyncio.Event()
    conns = [Conn(KINDS[i % len(KINDS)]) for i in range(args.connections)]
    tasks = []
    for i in range(0, len(conns), 250):
        tasks += [asyncio.ensure_future(hold(host, port, c, started, stop)) for c in conns[i : i + 250]]
        await asyncio.sleep(0.05)
    opened_after = time.monotonic() - started

    def snapshot():
        per_kind = {k: sum(1 for c in conns if c.kind == k and c.opened and c.closed_at is None) for k in KINDS}
        return {
            "at_s": round(time.monotonic() - started, 1),
            "open_seen_by_client": sum(per_kind.values()),
            "per_kind": per_kind,
            "server_fds": server_fds(args.pid),
            "server_rss_mb": round(server_kb(args.pid, "VmRSS") / 1024, 1),
        }

    await asyncio.sleep(1)
    early = snapshot()
    await asyncio.sleep(max(0.0, args.wait - (time.monotonic() - started)))
    late = snapshot()
    stop.set()
    client_stop.set()
    client.join(5)
    await asyncio.wait(tasks, timeout=5)
    ok = [t for s, t in results if s == 200]
    out = {
        "connections": args.connections,
        "opened": sum(1 for c in conns if c.opened),
        "opening_took_s": round(opened_after, 1),
        "after_1s": early,
        "after_wait": late,
        "normal_client": {
            "requests": len(results),
            "ok": len(ok),
            "failed": len(results) - len(ok),
            "max_ms_ok": round(max(ok) * 1000, 1) if ok else None,
        },
        "server_peak_rss_mb": round(server_kb(args.pid, "VmHWM") / 1024, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
