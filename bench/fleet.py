"""The fleet section of `make bench`: `safe-tracker serve` (release build) with many tenants
against a multi-organisation release simulator on loopback, measured from outside the process
(/proc): catch-up throughput into SQLite with group commit against one transaction per save,
then, for 1,000 and 10,000 tenants, peak RSS, RSS per tenant, open file descriptors and the CPU
of an idle sweep (a sweep that finds nothing new); then the same catch-up into PostgreSQL (a
throw-away cluster) with group commit against one transaction per save, and the time from a
SIGKILL of one of three workers sharing 30 tenants to the first new item of its tenants stored
by another. Prints one JSON object.

Run by bench/run.py; `python3 bench/fleet.py TARGET_DIR` alone prints the JSON."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TARGET = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/var/tmp/safe-tracker-target/x86_64-unknown-linux-gnu")
RELEASE = TARGET / "release"
CLK = os.sysconf("SC_CLK_TCK")


def simulator(orgs, items):
    p = subprocess.Popen([str(RELEASE / "safe-simulator"), "--orgs", str(orgs), "--items", str(items), "--seed", "6"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = p.stdout.readline().strip()
    p.stdout.readline()
    return p, base


def tenants_file(folder, base, n, interval):
    tokens = folder / "tokens"
    tokens.mkdir()
    lines = ["[defaults]", f'base_url = "{base}"', f"interval = {interval}", "jitter = 0",
             "unsafe_min_interval = 0", "requests_per_second = 0", ""]
    for org in range(1, n + 1):
        (tokens / str(org)).write_text(f"sim-token-org{org}")
        lines += ["[[tenant]]", f'name = "t{org}"', f"organization_id = {org}", f"office_id = {org * 100 + 1}",
                  f'token_file = "tokens/{org}"', ""]
    path = folder / "tenants.toml"
    path.write_text("\n".join(lines))
    return path


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def status_kib(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def count(db, sql):
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return c.execute(sql).fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return 0


def wait_until(what, done, limit=600):
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"fleet bench: never {what}")
        time.sleep(0.2)


def requests_total(base):
    stats = json.loads(urllib.request.urlopen(base[:-4] + "__admin/stats?window_ms=1000").read())
    return stats["total"]


def serve(folder, tenants, db, group, cap):
    return subprocess.Popen([str(RELEASE / "safe-tracker"), "--quiet", "serve", "--tenants", str(tenants), "--db", str(db),
                             "--max-requests-per-second", str(cap), "--max-commit-group", str(group)],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=120)


def catch_up(tenants, items, group):
    """Seconds for `tenants` tenants to store `items` items each (first sweeps within 1 s)."""
    sim, base = simulator(tenants, items)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        path = tenants_file(folder, base, tenants, 1)
        db = folder / "fleet.db"
        started = time.monotonic()
        p = serve(folder, path, db, group, 100000)
        try:
            wait_until("caught up", lambda: count(db, "SELECT count(*) FROM items") == tenants * items)
            seconds = time.monotonic() - started
        finally:
            stop(p)
            sim.kill()
    return {"tenants": tenants, "items": tenants * items, "seconds": seconds, "items_per_s": tenants * items / seconds,
            "group": group}


def idle(tenants, interval, window):
    """RSS, descriptors and the CPU per sweep that finds nothing new."""
    sim, base = simulator(tenants, 1)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        path = tenants_file(folder, base, tenants, interval)
        db = folder / "fleet.db"
        p = serve(folder, path, db, 512, 100000)
        try:
            before_any = None
            wait_until("started", lambda: Path(f"/proc/{p.pid}/status").exists())
            before_any = status_kib(p.pid, "VmRSS")
            wait_until("caught up", lambda: count(db, "SELECT count(*) FROM fleet_tenants WHERE cursor = 2") == tenants,
                       limit=900)
            # Every first sweep is done: from here on each sweep finds nothing new.
            time.sleep(interval)
            cpu0, req0, t0 = cpu_seconds(p.pid), requests_total(base), time.monotonic()
            time.sleep(window)
            cpu1, req1, t1 = cpu_seconds(p.pid), requests_total(base), time.monotonic()
            fds = len(os.listdir(f"/proc/{p.pid}/fd"))
            rss = status_kib(p.pid, "VmRSS")
            peak = status_kib(p.pid, "VmHWM")
        finally:
            stop(p)
            sim.kill()
    sweeps = max(req1 - req0, 1)  # one request per sweep that finds nothing
    cpu_per_sweep = (cpu1 - cpu0) / sweeps
    return {"tenants": tenants, "interval": interval, "window": t1 - t0, "sweeps": sweeps,
            "cpu_per_sweep_ms": cpu_per_sweep * 1000, "cpu_share_now": (cpu1 - cpu0) / (t1 - t0),
            # The same fleet on a 10-minute interval: tenants/600 sweeps per second.
            "cpu_share_10min": tenants / 600 * cpu_per_sweep,
            "rss_mib": rss / 1024, "peak_rss_mib": peak / 1024, "rss_start_mib": before_any / 1024,
            "rss_per_tenant_kib": (rss - before_any) / tenants, "fds": fds}


def postgres():
    """A throw-away PostgreSQL cluster (bin `safe-test-postgres`): (process, URL)."""
    p = subprocess.Popen([str(RELEASE / "safe-test-postgres")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    return p, p.stdout.readline().strip()


def psql(url, sql):
    out = subprocess.run(["psql", url, "-Atq", "-c", sql], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def pg_count(url, sql):
    try:
        return int(psql(url, sql) or -1)
    except ValueError:
        return -1


def database(url, name):
    psql(url, f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}?sslmode=disable"


def worker(folder, url, wid, tenants=None, ttl=30, group=512):
    args = [str(RELEASE / "safe-tracker"), "--quiet", "serve", "--store", url, "--worker-id", wid,
            "--lease-ttl", str(ttl), "--max-requests-per-second", "100000", "--max-commit-group", str(group)]
    if tenants:
        args += ["--tenants", str(tenants)]
    return subprocess.Popen(args, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def catch_up_pg(server, tenants, items, group):
    """Seconds for one worker to store `items` items of each of `tenants` tenants in PostgreSQL."""
    url = database(server, f"catch_up_{group}")
    sim, base = simulator(tenants, items)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        path = tenants_file(folder, base, tenants, 1)
        started = time.monotonic()
        p = worker(folder, url, "bench", path, group=group)
        try:
            wait_until("caught up in PostgreSQL", lambda: pg_count(url, "SELECT count(*) FROM items") == tenants * items)
            seconds = time.monotonic() - started
        finally:
            stop(p)
            sim.kill()
    return {"tenants": tenants, "items": tenants * items, "seconds": seconds, "items_per_s": tenants * items / seconds,
            "group": group}


def holders(url):
    rows = psql(url, "SELECT owner, unit FROM safe_tracker_leases WHERE owner IS NOT NULL AND expires_at > now()")
    out = {}
    for line in rows.splitlines():
        owner, unit = line.split("|")
        out.setdefault(owner, []).append(unit)
    return out


def takeovers(server, runs, ttl):
    """Seconds from a SIGKILL of one of three workers to the first new item of one of its tenants
    stored by another, `runs` times (a new worker joins after each, and the three rebalance)."""
    url = database(server, "takeover")
    sim, base = simulator(30, 5)
    admin = base[:-4] + "__admin/orgs/"
    seconds = []
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        path = tenants_file(folder, base, 30, 1)
        workers = {"w0": worker(folder, url, "w0", path, ttl)}
        wait_until("the tenant set", lambda: pg_count(url, "SELECT count(*) FROM safe_tracker_tenant_sets") == 1)
        for i in (1, 2):
            workers[f"w{i}"] = worker(folder, url, f"w{i}", None, ttl)
        try:
            for run in range(runs):
                wait_until("three workers balanced", lambda: sorted(len(u) for u in holders(url).values()) == [10, 10, 10]
                           and pg_count(url, "SELECT count(*) FROM items") == 150 + 30 * run)
                victim = sorted(workers)[run % len(workers)]
                orgs = [int(u[1:]) for u in holders(url)[victim]]
                workers.pop(victim).kill()
                killed = time.monotonic()
                for org in range(1, 31):
                    req = urllib.request.Request(admin + f"{org}/items", data=b'{"count":1}',
                                                 headers={"content-type": "application/json"})
                    urllib.request.urlopen(req).read()
                in_orgs = ",".join(map(str, orgs))
                wait_until("a new item of the killed worker's tenants",
                           lambda: pg_count(url, f"SELECT count(*) FROM items WHERE organization_id IN ({in_orgs}) "
                                                 f"AND sequential_org_id > {5 + run}") > 0)
                seconds.append(time.monotonic() - killed)
                new = f"w{3 + run}"
                workers[new] = worker(folder, url, new, None, ttl)
        finally:
            for p in workers.values():
                stop(p)
            sim.kill()
    return {"ttl": ttl, "runs": runs, "seconds": seconds, "median": sorted(seconds)[len(seconds) // 2]}


def main():
    server, url = postgres()
    try:
        pg = {
            "group": catch_up_pg(url, 300, 20, 512),
            "per_save": catch_up_pg(url, 300, 20, 1),
            "takeover": takeovers(url, 5, 10),
        }
    finally:
        server.stdin.close()
        server.wait(timeout=120)
    result = {
        "group": catch_up(1000, 20, 512),
        "per_save": catch_up(1000, 20, 1),
        "idle": [idle(1000, 10, 20), idle(10000, 20, 30)],
        "postgres": pg,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
