"""The inputs of docs/SCALING.md's capacity model, measured: CPU time per order and per read of
every process involved (ingest, query-api, producer-sim, PostgreSQL, Redis, the Kafka broker)
and the bytes an order takes in Kafka, in PostgreSQL (tables, indexes, WAL) and in Redis.

    bench/capacity.sh [--quick] [--orders N] [--json FILE]

CPU *time* per unit of work, read from /proc (utime + stime, children reaped by the server
included), divides out the machine: an order that costs ingest 60 µs of CPU means one core
stores about 16,000 orders/s, however many other things the machine runs. Other load still
inflates it (shared caches, frequency), and the servers' figures (PostgreSQL, Redis, Kafka) count
everything they did meanwhile, for anyone: the figures for docs/SCALING.md are taken on a quiet
machine, and the script says how busy the machine was (load average) next to them.

Steps: a fresh database and topic (6 partitions); producer-sim loads N orders with --rate 0;
ingest consumes the backlog into PostgreSQL and Redis; query-api answers GET /order/{uid} for
random stored uids with wrk in three modes (process cache, Redis only, PostgreSQL only). Needs
the local stack (scripts/stack.sh up), release binaries and wrk (bench/capacity.sh sees to them).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from pipelinekit import resources as kit  # noqa: E402 - needs the path above
from pipelinekit.services import BIN, BROKERS, POSTGRES, REDIS, free_port  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[capacity {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(argv: list[str], env: dict | None = None, timeout: float = 600) -> str:
    cp = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if cp.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed: {cp.stderr.strip()[-600:]}")
    return cp.stdout


def psql(db: str, sql: str) -> str:
    return kit.psql_scalar(db, sql, timeout=300)


def redis(*args: str) -> str:
    return kit.redis_cli(*args, timeout=60)


# ------------------------------------------------------------------------------------- CPU time
def listener_pid(port: int) -> int:
    out = run(["ss", "-Htlnp", f"sport = :{port}"])
    m = re.search(r"pid=(\d+)", out)
    if not m:
        raise SystemExit(f"nothing listens on port {port}: run scripts/stack.sh up")
    return int(m.group(1))


def ticks(pid: int, children: bool = False) -> int:
    """utime + stime of `pid` (all threads); with `children`, plus what its exited children used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if children else 0)


def server_ticks(root: int) -> int:
    """A server and all its processes: PostgreSQL forks a backend per connection."""
    total = ticks(root, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == root:
            total += int(fields[11]) + int(fields[12])
    return total


class Meter:
    """CPU seconds used by the named processes between start() and stop()."""

    def __init__(self, pids: dict[str, tuple[int, bool]]) -> None:
        self.pids = pids  # name -> (pid, is a forking server)
        self.before: dict[str, int] = {}
        self.used: dict[str, float] = {}

    def read(self) -> dict[str, int]:
        return {n: server_ticks(p) if server else ticks(p) for n, (p, server) in self.pids.items()}

    def start(self) -> Meter:
        self.before = self.read()
        return self

    def stop(self) -> dict[str, float]:
        after = self.read()
        self.used = {n: (after[n] - self.before[n]) / HZ for n in after}
        return self.used


# ------------------------------------------------------------------------------------- steps
def produce(env: dict, count: int, seed: int) -> float:
    """Loads `count` valid orders; returns producer-sim's CPU seconds."""
    proc = subprocess.Popen([str(BIN / "producer-sim"), "--count", str(count), "--rate", "0", "--seed", str(seed),
                             "--invalid-ratio", "0", "--duplicate-ratio", "0"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"producer-sim failed: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
    return usage.ru_utime + usage.ru_stime


def kafka_bytes(topic: str) -> int:
    out = kit.kafka_tool("org.apache.kafka.tools.LogDirsCommand", "--bootstrap-server", BROKERS, "--describe",
                         "--topic-list", topic).stdout
    line = next(x for x in out.splitlines() if x.startswith("{"))
    return sum(p["size"] for broker in json.loads(line)["brokers"] for d in broker["logDirs"]
               for p in d["partitions"] if p["partition"].rsplit("-", 1)[0] == topic)


def ingest(env: dict, db: str, count: int, pids: dict) -> dict:
    lsn = psql(db, "SELECT pg_current_wal_lsn()")
    proc = subprocess.Popen([str(BIN / "ingest"), "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    meter = Meter({**pids, "ingest": (proc.pid, False)}).start()
    started, first = time.time(), None
    while (n := int(psql(db, "SELECT count(*) FROM orders"))) < count:
        if first is None and n:
            first = time.time()
        if proc.poll() is not None or time.time() - started > 900:
            raise SystemExit(f"ingest stopped or stalled at {n} of {count} orders")
        time.sleep(0.2)
    wall = time.time() - (first or started)
    used = meter.stop()
    wal = int(psql(db, f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{lsn}')"))
    proc.terminate()
    proc.wait(60)
    return {"cpu_s": used, "wall_s": round(wall, 2), "wal_bytes": wal}


def storage(db: str, prefix: str, count: int) -> dict:
    tables = psql(db, "SELECT string_agg(c || '=' || pg_total_relation_size(c::regclass), ' ') FROM "
                      "unnest(ARRAY['orders','deliveries','payments','items']) c")
    sizes = {k: int(v) for k, v in (kv.split("=") for kv in tables.split())}
    keys = redis("--scan", "--pattern", f"{prefix}*").split()[:2000]
    usage = [int(redis("MEMORY", "USAGE", k) or 0) for k in keys]
    values = [int(redis("STRLEN", k) or 0) for k in keys[:200]]
    return {"pg_bytes_per_order": {k: round(v / count) for k, v in sizes.items()},
            "pg_total_per_order": round(sum(sizes.values()) / count),
            "redis_bytes_per_order": round(sum(usage) / max(len(usage), 1)),
            "json_bytes_per_order": round(sum(values) / max(len(values), 1))}


LUA = """local uids = {}
for line in io.lines("%s") do uids[#uids + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", "/order/" .. uids[math.random(#uids)]) end
done = function(summary, latency, requests)
  io.write(string.format("WRK requests=%%d seconds=%%.3f p99_ms=%%.3f errors=%%d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(99) / 1000, summary.errors.status + summary.errors.timeout))
end
"""


def reads(env: dict, work: Path, pids: dict, seconds: int, count: int) -> dict:
    results = {}
    # The process cache sized to hold every order, so "memory" means memory only.
    whole = {"NEAR_CACHE_ENTRIES": str(count), "NEAR_CACHE_MAX_BYTES": str(count * 4096)}
    modes = {"memory": whole, "redis": {"NEAR_CACHE_ENTRIES": "0"},
             "postgres": {"NEAR_CACHE_ENTRIES": "0", "REDIS_URL": "redis://127.0.0.1:1"}}
    for mode, extra in modes.items():
        port = free_port()
        api_env = {**env, **extra, "HTTP_ADDR": f"127.0.0.1:{port}", "ADMIN_ADDR": f"127.0.0.1:{free_port()}",
                   "AUTH_MODE": "off"}
        proc = subprocess.Popen([str(BIN / "query-api")], env=api_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(port)
            url = f"http://127.0.0.1:{port}"
            if mode == "memory":
                touch_all(port, work)  # every order in the process cache before timing
            wrk(url, work, 3)  # warm-up: caches, connections, prepared statements
            meter = Meter({**pids, "query-api": (proc.pid, False)}).start()
            out = wrk(url, work, seconds)
            used = meter.stop()
        finally:
            proc.terminate()
            proc.wait(30)
        results[mode] = {"requests": out["requests"], "rps": round(out["requests"] / out["seconds"]),
                         "p99_ms": out["p99_ms"], "errors": out["errors"],
                         "cpu_us_per_read": {n: round(s * 1e6 / out["requests"], 1) for n, s in used.items()}}
        log(f"reads from {mode}: {results[mode]}")
    return results


def touch_all(port: int, work: Path, workers: int = 8) -> None:
    """GETs every stored order once, over keep-alive connections."""
    uids = (work / "uids.txt").read_text().split()

    def chunk(part: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for uid in part:
            conn.request("GET", f"/order/{uid}")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"GET /order/{uid}: {response.status}")
        conn.close()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(chunk, [uids[i::workers] for i in range(workers)]))


def wrk(url: str, work: Path, seconds: int) -> dict:
    out = run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", str(work / "pick.lua"), url],
              timeout=seconds + 60)
    m = re.search(r"WRK requests=(\d+) seconds=([\d.]+) p99_ms=([\d.]+) errors=(\d+)", out)
    if not m:
        raise SystemExit(f"wrk printed no summary: {out[-400:]}")
    return {"requests": int(m[1]), "seconds": float(m[2]), "p99_ms": float(m[3]), "errors": int(m[4])}


def wait_http(port: int) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"query-api on {port} not ready")


def per_core(r: dict) -> dict:
    """What one fully busy core of each process handles, from its CPU time per unit of work."""
    def rate(us: float) -> int:
        return round(1e6 / us) if us > 0 else 0
    out = {"ingest_orders_per_s": rate(r["ingest_cpu_us_per_order"]["ingest"]),
           "postgres_orders_per_s": rate(r["ingest_cpu_us_per_order"]["postgres"]),
           "redis_order_writes_per_s": rate(r["ingest_cpu_us_per_order"]["redis"]),
           "producer_sim_records_per_s": rate(r["producer_cpu_us_per_order"])}
    for mode, m in r["reads"].items():
        out[f"query_api_reads_per_s_{mode}"] = rate(m["cpu_us_per_read"]["query-api"])
    out["redis_reads_per_s"] = rate(r["reads"]["redis"]["cpu_us_per_read"]["redis"])
    out["postgres_reads_per_s"] = rate(r["reads"]["postgres"]["cpu_us_per_read"]["postgres"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 orders and 5 s read runs")
    parser.add_argument("--orders", type=int, default=0, help="orders to load (default 100,000)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    count = args.orders or (20_000 if args.quick else 100_000)
    seconds = 5 if args.quick else 15
    stamp = f"{int(time.time())}_{os.getpid()}"
    db, topic, prefix = f"capacity_{stamp}", f"capacity.{stamp}", f"capacity:{stamp}:"
    group = f"capacity-{stamp}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIM_", "INGEST_", "NEAR_CACHE"))}
    env.update(DATABASE_URL=POSTGRES.url(db), KAFKA_BROKERS=BROKERS, REDIS_URL=REDIS.url, ORDERS_TOPIC=topic,
               RETRY_TOPIC=f"{topic}.retry", DLQ_TOPIC=f"{topic}.dlq", KAFKA_GROUP=group,
               ORDER_CACHE_KEY_PREFIX=prefix, METRICS_ADDR="127.0.0.1:0", RUST_LOG="warn")
    servers = {"postgres": (listener_pid(int(POSTGRES.port)), True), "redis": (listener_pid(REDIS.port), False),
               "kafka": (listener_pid(int(BROKERS.split(",")[0].rsplit(":", 1)[1])), False)}
    load = os.getloadavg()
    scratch = kit.Scratch(databases=[db], topics=[topic, f"{topic}.retry", f"{topic}.dlq"], groups=[group],
                          key_prefixes=[prefix])
    work = Path(tempfile.mkdtemp(prefix="capacity-"))
    try:
        scratch.create()
        run([str(BIN / "ingest"), "migrate", "up"], env=env)
        log(f"producing {count:,} orders")
        meter = Meter(servers).start()
        producer_cpu = produce(env, count, 20241202)
        producing = meter.stop()
        kbytes = kafka_bytes(topic)
        log(f"ingesting {count:,} orders")
        written = ingest(env, db, count, servers)
        sizes = storage(db, prefix, count)
        (work / "uids.txt").write_text(psql(db, "SELECT order_uid FROM orders") + "\n")
        (work / "pick.lua").write_text(LUA % (work / "uids.txt"))
        read = reads(env, work, servers, seconds, count)
        result = {
            "orders": count, "load_average_at_start": [round(x, 2) for x in load], "cores": os.cpu_count(),
            "producer_cpu_us_per_order": round(producer_cpu * 1e6 / count, 1),
            "kafka_broker_cpu_us_per_order_produced": round(producing["kafka"] * 1e6 / count, 1),
            "kafka_bytes_per_order": round(kbytes / count),
            "ingest_wall_orders_per_s": round(count / written["wall_s"]),
            "ingest_cpu_us_per_order": {n: round(s * 1e6 / count, 1) for n, s in written["cpu_s"].items()},
            "wal_bytes_per_order": round(written["wal_bytes"] / count), **sizes, "reads": read,
        }
        result["per_core"] = per_core(result)
    finally:
        scratch.drop()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
