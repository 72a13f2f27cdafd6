#!/usr/bin/env python3
"""Reliability campaigns against a real `drugtrace serve` on loopback (issue 13).

  crash ROUNDS  kill -9 the server at a random moment of mixed load (commissions through
                /v1/events, sales through the gate, NHSA 3505 uploads), restart it, and check
                that every acknowledged event is in the store, that no pack was sold twice,
                and that `drugtrace rebuild --check` finds every state equal to its log.
  race PACKS    three contenders sell each pack at once, through the gate, /v1/events and
                NHSA 3505, each retrying once: exactly one sale per pack may be recorded,
                and every retry must be answered as before.
  soak SECONDS  wrk drives gate sales and patient queries as fast as the machine allows,
                while the server's memory, open files and the error counts are sampled
                every 10 s (wrk from Debian's packages, installed when missing).

Only the standard library; every request goes to 127.0.0.1. Loops are bounded in count and
time. Exit status 1 when any check fails. The binary is $DRUGTRACE_BIN, else
target/release/drugtrace, else target/debug/drugtrace.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKER, PHARMACIES = "M3301001", ["P1", "P2", "P3", "P4"]
# Product 8100002 (examples/catalog.csv) is sold as whole packs of one unit.
PREFIX = 8100002_0000000000000


def binary() -> str:
    env = os.environ.get("DRUGTRACE_BIN")
    if env:
        return env
    for p in ("target/release/drugtrace", "target/debug/drugtrace"):
        if (ROOT / p).exists():
            return str(ROOT / p)
    sys.exit("no drugtrace binary: build it (cargo build -p drugtrace) or set DRUGTRACE_BIN")


def run(*args: str, data: Path) -> str:
    out = subprocess.run([binary(), "--data", str(data), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"drugtrace {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def setup(data: Path) -> dict[str, str]:
    run("init", data=data)
    run("catalog", "import", str(ROOT / "examples/catalog.csv"), data=data)
    keys = {MAKER: run("key", "create", "--role", "manufacturer", "--institution", MAKER, data=data).strip()}
    for p in PHARMACIES:
        keys[p] = run("key", "create", "--role", "pharmacy", "--institution", p, data=data).strip()
    keys["regulator"] = run("key", "create", "--role", "regulator", data=data).strip()
    return keys


class Server:
    def __init__(self, data: Path, *extra: str):
        self.proc = subprocess.Popen(
            [binary(), "--data", str(data), "serve", "--listen", "127.0.0.1:0", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "RUST_LOG": "info", "NO_COLOR": "1"},
        )
        deadline = time.time() + 60
        self.addr = None
        assert self.proc.stderr is not None
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"address=(\S+)", line)
            if m:
                self.addr = m.group(1)
                break
        if not self.addr:
            self.proc.kill()
            raise RuntimeError("the server did not log its address")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        if self.proc.wait(timeout=60) != 0:
            raise RuntimeError(f"the server exited {self.proc.returncode} on SIGTERM")


def request(addr: str, method: str, path: str, key: str | None, body=None, timeout=30.0):
    """One request; (status, json) or None when the connection broke (the server died)."""
    host, port = addr.rsplit(":", 1)
    try:
        c = http.client.HTTPConnection(host, int(port), timeout=timeout)
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            return r.status, (json.loads(raw) if raw else None)
        except json.JSONDecodeError:
            return r.status, raw.decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return None


def code(n: int) -> str:
    return f"{PREFIX + n:020d}"


def commission(n: int) -> dict:
    return {"type": "commission", "code": code(n), "at": "2026-01-05 09:00:00", "institution": MAKER,
            "batch": "B1", "expiry": "2031-12-31"}


def nhsa_sale(institution: str, setl: str, c: str) -> dict:
    return {
        "infno": "3505", "msgid": f"{institution}{setl}", "inf_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "fixmedins_code": institution,
        "input": {"selinfo": {"setl_id": setl, "med_list_codg": "XL01EDA123A001010200002",
                              "sel_retn_cnt": "1", "finl_trns_pric": "18.50", "mdtrt_setl_type": "1",
                              "psn_no": "35000000000000000510", "drugtracinfo": [{"drug_trac_codg": c}]}},
    }


def applied_sales(addr: str, key: str, c: str) -> list[dict] | None:
    got = request(addr, "GET", f"/v1/packs/{c}", key)
    if not got or got[0] != 200:
        return None
    return [e for e in got[1]["events"] if e["type"] == "sale" and e["outcome"] != "rejected"]


def crash(rounds: int, seconds: float, seed: int) -> bool:
    rng = random.Random(seed)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        keys = setup(data)
        next_pack = 0
        acked_commissions: list[int] = []
        acked_sales: dict[int, str] = {}
        lock = threading.Lock()
        totals = {"acked": 0, "lost": 0, "double": 0, "kills": 0}
        for rnd in range(rounds):
            server = Server(data)
            stop = threading.Event()

            def commissions():
                nonlocal next_pack
                while not stop.is_set():
                    with lock:
                        first, next_pack = next_pack, next_pack + 50
                    got = request(server.addr, "POST", "/v1/events", keys[MAKER],
                                  [commission(n) for n in range(first, first + 50)])
                    if got and got[0] == 200:
                        with lock:
                            acked_commissions.extend(range(first, first + 50))

            def sales(i: int):
                local = random.Random(seed * 1000 + rnd * 10 + i)
                inst = PHARMACIES[i % len(PHARMACIES)]
                while not stop.is_set():
                    with lock:
                        free = [n for n in acked_commissions[-2000:] if n not in acked_sales]
                    if not free:
                        time.sleep(0.01)
                        continue
                    n = local.choice(free)
                    setl = f"R{rnd}T{i}N{n}"
                    if i % 2:
                        got = request(server.addr, "POST", "/v1/gate/sale", keys[inst],
                                      {"settlement_id": setl, "institution": inst, "items": [{"code": code(n)}]})
                        allowed = bool(got and got[0] == 200 and got[1]["decision"] == "allow")
                    else:
                        got = request(server.addr, "POST", "/nhsa/callService", keys[inst], nhsa_sale(inst, setl, code(n)))
                        allowed = bool(got and got[0] == 200 and got[1]["infcode"] == 0
                                       and got[1]["output"]["results"][0]["outcome"] != "rejected")
                    if allowed:
                        with lock:
                            acked_sales.setdefault(n, inst)

            threads = [threading.Thread(target=commissions)] + [threading.Thread(target=sales, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, seconds))
            server.kill9()
            totals["kills"] += 1
            stop.set()
            for t in threads:
                t.join()
            server = Server(data)
            lost = [n for n in acked_commissions if not (request(server.addr, "GET", f"/v1/packs/{code(n)}", keys["regulator"]) or (0, {}))[1].get("events")]
            for n, inst in acked_sales.items():
                s = applied_sales(server.addr, keys["regulator"], code(n))
                if not s or not any(e["institution"] == inst for e in s):
                    lost.append(n)
                elif len(s) > 1:
                    totals["double"] += 1
                    print(f"round {rnd}: {code(n)} sold {len(s)} times", file=sys.stderr)
            server.stop()
            check = subprocess.run([binary(), "--data", str(data), "rebuild", "--check"], capture_output=True, text=True)
            totals["acked"] = len(acked_commissions) + len(acked_sales)
            totals["lost"] += len(lost)
            print(f"round {rnd + 1}/{rounds}: {len(acked_commissions)} commissions and {len(acked_sales)} sales "
                  f"acknowledged so far, {len(lost)} lost; rebuild --check: {check.stdout.strip() or check.stderr.strip()}")
            if lost or check.returncode != 0:
                ok = False
        print(f"crash: {totals['kills']} kill -9, {totals['acked']} acknowledged events, "
              f"{totals['lost']} lost, {totals['double']} packs sold twice")
        return ok and totals["double"] == 0


def race(packs: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        keys = setup(data)
        server = Server(data)
        for first in range(0, packs, 500):
            got = request(server.addr, "POST", "/v1/events", keys[MAKER],
                          [commission(n) for n in range(first, min(first + 500, packs))])
            assert got and got[0] == 200, got
        bad = {"double": 0, "none": 0, "retry": 0}

        def gate(n):
            body = {"settlement_id": f"G{n}", "institution": "P1", "items": [{"code": code(n)}]}
            a = request(server.addr, "POST", "/v1/gate/sale", keys["P1"], body)
            b = request(server.addr, "POST", "/v1/gate/sale", keys["P1"], body)
            return a and b and a[1]["items"][0]["outcome"] == b[1]["items"][0]["outcome"] and b[1]["items"][0]["replayed"]

        def events(n):
            body = [{"type": "sale", "code": code(n), "at": time.strftime("%Y-%m-%d %H:%M:%S"), "institution": "P2",
                     "settlement_id": f"E{n}"}]
            a = request(server.addr, "POST", "/v1/events", keys["P2"], body)
            b = request(server.addr, "POST", "/v1/events", keys["P2"], body)
            return a and b and a[1]["events"][0]["outcome"] == b[1]["events"][0]["outcome"] and b[1]["events"][0]["replayed"]

        def nhsa(n):
            body = nhsa_sale("P3", f"N{n}", code(n))
            a = request(server.addr, "POST", "/nhsa/callService", keys["P3"], body)
            b = request(server.addr, "POST", "/nhsa/callService", keys["P3"], body)
            ra, rb = a[1]["output"]["results"][0], b[1]["output"]["results"][0]
            return ra["outcome"] == rb["outcome"] and rb["replayed"]

        lock = threading.Lock()
        todo = list(range(packs))

        def worker():
            while True:
                with lock:
                    if not todo:
                        return
                    n = todo.pop()
                results = {}
                ts = [threading.Thread(target=lambda f=f: results.__setitem__(f.__name__, f(n))) for f in (gate, events, nhsa)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                if not all(results.values()):
                    with lock:
                        bad["retry"] += 1
        workers = [threading.Thread(target=worker) for _ in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for n in range(packs):
            s = applied_sales(server.addr, keys["regulator"], code(n)) or []
            if len(s) > 1:
                bad["double"] += 1
            elif not s:
                bad["none"] += 1
        server.stop()
        print(f"race: {packs} packs x 3 contenders (gate, /v1/events, NHSA 3505), each retried once: "
              f"{bad['double']} sold twice, {bad['none']} never sold, {bad['retry']} retries answered differently")
        return not any(bad.values())


def soak(seconds: int, packs: int) -> bool:
    if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode != 0:
        subprocess.run(["sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        keys = setup(data)
        # The patient limit out of the way: this measures the server.
        server = Server(data, "--patient-burst", "1000000000", "--patient-per-second", "1000000000")
        proc = server.proc
        for first in range(0, packs, 1000):
            got = request(server.addr, "POST", "/v1/events", keys[MAKER],
                          [commission(n) for n in range(first, min(first + 1000, packs))])
            assert got and got[0] == 200, got
        codes = Path(tmp) / "codes.txt"
        codes.write_text("".join(code(n) + "\n" for n in range(packs)))
        env = {**os.environ, "CODES_FILE": str(codes), "DT_KEY": keys["P1"], "DT_INSTITUTION": "P1"}
        url = f"http://{server.addr}"
        wrks = [subprocess.Popen(["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "-s", str(ROOT / f"scripts/wrk/{name}.lua"), url],
                                 stdout=subprocess.PIPE, text=True, env=env) for name in ("gate", "codes")]
        samples = []
        started = time.time()
        while any(w.poll() is None for w in wrks):
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024
                fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
            except (OSError, AttributeError):
                rss = fds = -1
            samples.append((int(time.time() - started), rss, fds))
            time.sleep(10)
        outs = [w.communicate()[0] for w in wrks]
        alive = request(server.addr, "GET", "/healthz", None)
        server.stop()
        print(f"soak: {seconds} s, {packs} packs; gate and patient queries with wrk, 32 connections each")
        print("  t(s)  RSS(MB)  open fds")
        for t, rss, fds in samples:
            print(f"  {t:5d}  {rss:7d}  {fds:8d}")
        failed = False
        for name, out in zip(("gate", "patient query"), outs):
            rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
            total = re.search(r"(\d+) requests in", out)
            p99 = re.search(r"99%\s+(\S+)", out)
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            errors = re.search(r"Socket errors: (.*)", out)
            print(f"  {name}: {total.group(1) if total else '?'} requests, {rate.group(1) if rate else '?'}/s, "
                  f"p99 {p99.group(1) if p99 else '?'}, non-2xx {non2xx.group(1) if non2xx else 0}, "
                  f"socket errors: {errors.group(1) if errors else 'none'}")
            failed |= bool(non2xx) or bool(errors and "timeout 0" not in errors.group(1))
        print(f"  healthz after: {alive[0] if alive else 'no answer'}")
        return not failed and bool(alive and alive[0] == 200)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("crash")
    c.add_argument("rounds", type=int)
    c.add_argument("--seconds", type=float, default=3.0, help="load before each kill, at most")
    c.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("race")
    r.add_argument("packs", type=int)
    k = sub.add_parser("soak")
    k.add_argument("seconds", type=int)
    k.add_argument("--packs", type=int, default=200_000)
    a = p.parse_args()
    if a.cmd == "crash":
        ok = crash(a.rounds, a.seconds, a.seed)
    elif a.cmd == "race":
        ok = race(a.packs)
    else:
        ok = soak(a.seconds, a.packs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
