"""Drills for ingest's hardening (issue "No crash loop, no silent stall"): a backlog of near-1 MiB
orders under ingest's memory limit, a retry record with a far-future due time, and a revoked
grant. None of them stops a shared service: the fault is the data itself (big orders, forged
headers) or a grant on the drill's own database. Each runs its own pipeline (database, topics,
group, Redis prefix, ports) and ends with the same lost/duplicate/DLQ/lag checks as the others.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

from pipelinekit import resources as kit
from pipelinekit.services import POSTGRES

from . import checks, infra, records
from .checks import Result
from .infra import log
from .pipeline import DrillEnv, Manifest, Stream

MEMORY_LIMIT_MIB = 256  # ingest's limit in k8s/base/ingest-deployment.yaml
FAR_FUTURE_MS = 32_503_680_000_000  # year 3000
RETRY_MAX_DELAY_MS = 20_000  # the far-future drill's INGEST_RETRY_MAX_DELAY_MS
MAX_ATTEMPTS = 5  # the far-future drill's INGEST_MAX_ATTEMPTS (ingest's default)
ABSURD_ATTEMPTS = "18446744073709551616"  # 2^64: no counter holds it


class TunedEnv(DrillEnv):
    """A drill pipeline whose processes get the drill's own settings (a database role, a retry
    bound) once it is set up, so the migrations still run as the owner and the watcher's restart
    of a crashed ingest keeps them. query-api's own settings go in `query_api_settings`."""

    def __init__(self, run_id: str, name: str, logdir: Path) -> None:
        super().__init__(run_id, name, logdir)
        self.tuning: dict[str, str] = {}  # ingest and the tools (dlq inspect, producer-sim)

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(**{**self.tuning, **extra})


def role_url(db: str, role: str) -> str:
    """The drill database, with every session acting as `role` (the local `orders` user is a
    member of the pipeline's group roles, see scripts/db-roles.sql)."""
    return POSTGRES.url(db) + "?options=" + urllib.parse.quote(f"-c role={role}")


def readyz(env: TunedEnv, name: str = "i0") -> tuple[int | None, dict]:
    try:
        status, _, body = infra.Http(env.ingest_ports[name], timeout=3).get("/readyz")
        return status, json.loads(body or b"{}")
    except (OSError, ValueError):
        return None, {}


def stalled(env: TunedEnv, reason: str) -> float:
    return infra.metric_sum(env.ingest_metrics(), "ingest_stalled", reason=reason)


def common_checks(env: TunedEnv, m: Manifest, values: dict[int, bytes], r: Result, query_api: bool) -> None:
    drained, lag, detail = env.drain(len(m.valid))
    checks.check_store(env, m, values, r)
    if query_api:
        checks.check_reads(env, m, values, r)
    checks.check_dlq(env, m, values, r, exactly_once=True)
    checks.check_lag(env, r, drained, lag, detail)
    r.check("no process died by itself", not env.events, "; ".join(env.events))


# ============================================================================ big orders, memory
def big_orders(env: TunedEnv, r: Result, count: int = 240) -> None:
    """A backlog of `count` valid orders of ~0.95 MiB (1,000 items each) waits in the topic before
    ingest starts with its default settings; every one must be stored while ingest's peak RSS
    (VmHWM of the real binary) stays under its Kubernetes memory limit."""
    orders = records.valid_orders(env, count, seed=201)
    m = Manifest()
    values: dict[int, bytes] = {}
    batch = []
    for seq, order in enumerate(orders):
        value = records.inflate(order, target_bytes=int(0.95 * records.ONE_MIB))
        m.kinds[seq], m.keys[seq], values[seq] = "valid", order["order_uid"], value
        batch.append(({"x-sim-seq": str(seq), "x-sim-kind": "valid"}, order["order_uid"], value))
    total = sum(len(v) for v in values.values())
    log(f"  producing a backlog of {count} orders, {total / records.ONE_MIB:.0f} MiB")
    records.produce(env.orders_topic, batch, env.logdir)
    r.orders = r.sent = count
    r.info["backlog_mib"] = round(total / records.ONE_MIB, 1)
    r.info["order_bytes"] = [min(len(v) for v in values.values()), max(len(v) for v in values.values())]

    started = time.time()
    proc = env.start_ingest("i0", wait_ready=False)  # default settings: no INGEST_* in the environment
    env.watch()
    peak = 0
    while env.stored_count() < count and time.time() - started < 900 and proc.alive():
        peak = max(peak, records.vm_hwm_kib(proc.pid) or 0)
        time.sleep(0.5)
    peak = max(peak, records.vm_hwm_kib(proc.pid) or 0)
    elapsed = time.time() - started
    r.info["peak_rss_mib"] = round(peak / 1024, 1)
    r.info["drain_s"] = round(elapsed, 1)
    r.recovery_s = round(elapsed, 1)
    log(f"  stored {env.stored_count()}/{count} in {elapsed:.0f} s; ingest peak RSS {peak / 1024:.0f} MiB")
    r.check(f"memory: ingest's peak RSS (VmHWM) stays under its {MEMORY_LIMIT_MIB} MiB limit",
            0 < peak < MEMORY_LIMIT_MIB * 1024, f"{peak / 1024:.1f} MiB")
    common_checks(env, m, values, r, query_api=False)


# ============================================================================ far-future retry
def far_future_retry(env: TunedEnv, r: Result) -> None:
    """A stream of orders flows while four forged records land on the retry topic: a valid order
    due in the year 3000 (tried after the maximum retry delay instead), one with an absurd attempt
    count (clamped; stored), one whose due time is not a number (dead-lettered as malformed at
    once, never parked), and an invalid order with the absurd count (dead-lettered as invalid
    with `x-attempts` clamped to INGEST_MAX_ATTEMPTS)."""
    stream = Stream(3_000, 1_000, seed=202)
    env.tuning["INGEST_RETRY_MAX_DELAY_MS"] = str(RETRY_MAX_DELAY_MS)
    env.tuning["INGEST_MAX_ATTEMPTS"] = str(MAX_ATTEMPTS)
    proc = env.start_ingest("i0")
    env.watch()
    env.start_producer(stream, env.logdir / "manifest.tsv")
    extra = records.valid_orders(env, 4, seed=203)
    extra[3]["items"] = []  # invalid: an order has 1 to 1,000 items
    base = 10**6  # seqs of the forged records: beyond the stream's
    kinds = ["valid", "valid", "malformed", "invalid"]
    headers = [{"x-retry-not-before": str(FAR_FUTURE_MS), "x-attempts": "1"},
               {"x-retry-not-before": "0", "x-attempts": ABSURD_ATTEMPTS},
               {"x-retry-not-before": "soon", "x-attempts": "1"},
               {"x-retry-not-before": "0", "x-attempts": ABSURD_ATTEMPTS}]
    forged, values = [], {}
    for i, (order, kind, head) in enumerate(zip(extra, kinds, headers, strict=True)):
        value = json.dumps(order, separators=(",", ":"), ensure_ascii=False).encode()
        values[base + i] = value
        # Offsets no record of the stream has, so the DLQ checks never mistake one for another.
        origin = {"x-original-topic": env.orders_topic, "x-original-partition": "0",
                  "x-original-offset": str(10**9 + i), "x-original-timestamp": str(int(time.time() * 1000))}
        forged.append(({**head, **origin, "x-sim-seq": str(base + i), "x-sim-kind": kind},
                       order["order_uid"], value))
    injected = time.time()
    records.produce(env.retry_topic, forged, env.logdir)
    far_uid = extra[0]["order_uid"]

    parked = infra.wait_until(lambda: stalled(env, "retry_parked") >= 1, 30)
    status, body = readyz(env)
    named = [s for s in body.get("stalls", []) if s.get("reason") == "retry_parked"]
    r.check("far future: the retry partition is parked, named in /readyz and the metric",
            bool(parked) and bool(named), f"metric {parked}, /readyz {status} {named[:1]}")
    def dead_letter(seq: int) -> list[dict]:
        return [row for row in env.dlq_inspect()
                if (checks.header_map(row).get("x-sim-seq") or [None])[-1] == str(seq)]

    dead = infra.wait_until(lambda: dead_letter(base + 2), 30, interval=1.0)
    r.check("far future: the record with an unreadable due time is dead-lettered as malformed at once",
            bool(dead) and dead[0].get("kind") == "malformed",
            f"{time.time() - injected:.1f} s after injection: {dead[0].get('kind') if dead else 'not yet'}")
    clamped = infra.wait_until(lambda: dead_letter(base + 3), 30, interval=1.0)
    attempts = (checks.header_map(clamped[0]).get("x-attempts") or [None])[-1] if clamped else None
    r.check(f"far future: the invalid order with x-attempts {ABSURD_ATTEMPTS} is dead-lettered as invalid "
            f"with its attempts clamped (x-attempts = INGEST_MAX_ATTEMPTS = {MAX_ATTEMPTS})",
            bool(clamped) and clamped[0].get("kind") == "invalid" and attempts == str(MAX_ATTEMPTS),
            f"kind {clamped[0].get('kind')}, x-attempts {attempts}" if clamped else "not dead-lettered")

    rc = env.wait_producer(stream.duration + 300)
    r.check("producer-sim delivered every record (exit 0)", rc == 0, f"exit {rc}")
    stored = infra.wait_until(lambda: kit.psql_scalar(
        env.db, f"SELECT extract(epoch FROM stored_at) FROM orders WHERE order_uid = '{far_uid}'"),
        RETRY_MAX_DELAY_MS / 1000 + 60, interval=0.5)
    took = float(stored) - injected if stored else None
    r.info["far_future_tried_after_s"] = round(took, 1) if took else None
    r.recovery_s = round(took, 1) if took else None
    r.check(f"far future: the order is tried (and stored) within the maximum retry delay "
            f"({RETRY_MAX_DELAY_MS / 1000:.0f} s) plus slack, not before",
            took is not None and RETRY_MAX_DELAY_MS / 1000 - 1 <= took <= RETRY_MAX_DELAY_MS / 1000 + 15,
            f"stored {took:.1f} s after injection" if took else "never stored")

    m = env.manifest()
    for i, kind in enumerate(kinds):
        m.kinds[base + i], m.keys[base + i] = kind, extra[i]["order_uid"]
    all_values = {**env.print_values(stream), **values}
    r.orders, r.sent = len(m.valid), len(m)
    common_checks(env, m, all_values, r, query_api=False)
    r.check("ingest kept running", proc.alive())


# ============================================================================ revoked grant
def revoked_grant(env: TunedEnv, r: Result, outage_s: float = 15.0) -> None:
    """ingest runs as the writer role and query-api as the reader role (least privilege); mid-
    stream the writer loses INSERT on orders in this drill's database. ingest must stall with the
    cause named (/readyz 503 "permission denied", metric reason database_error), dead-letter
    nothing because of it, and resume by itself once the grant is back."""
    stream = Stream(20_000, 1_000, seed=204)
    env.tuning["DATABASE_URL"] = role_url(env.db, "orders_writer")
    env.query_api_settings["DATABASE_URL"] = role_url(env.db, "orders_reader")
    env.start_ingest("i0")
    env.start_query_api()
    env.watch()
    t0 = time.time()
    env.start_producer(stream, env.logdir / "manifest.tsv")
    # The fault lands on a pipeline that is demonstrably storing orders as the writer role.
    flowing = infra.wait_until(lambda: env.stored_count() >= 2_000, 60, interval=0.5)
    r.check("revoked: ingest stores orders as the writer role before the fault", bool(flowing),
            f"{env.stored_count():,} stored after {time.time() - t0:.1f} s")
    dlq_before = len(env.dlq_inspect())
    kit.psql(env.db, "REVOKE INSERT ON orders FROM orders_writer")
    revoked = time.time()
    log(f"  REVOKE INSERT ON orders FROM orders_writer at +{revoked - t0:.1f} s")

    def named_stall():
        status, body = readyz(env)
        causes = [s.get("cause", "") for s in body.get("stalls", []) if s.get("reason") == "database_error"]
        return (status, causes) if status == 503 and any("permission denied" in c for c in causes) else None

    seen = infra.wait_until(named_stall, 30)
    detect = time.time() - revoked
    r.check("revoked: /readyz answers 503 naming PostgreSQL and the cause", bool(seen),
            f"{seen} after {detect:.1f} s")
    r.check("revoked: the metric names the reason (ingest_stalled{reason=\"database_error\"} = 1)",
            stalled(env, "database_error") == 1)
    time.sleep(max(0.0, revoked + outage_s - time.time()))
    dlq_during = len(env.dlq_inspect())
    kit.psql(env.db, "GRANT INSERT ON orders TO orders_writer")
    granted = time.time()
    log(f"  GRANT back at +{granted - t0:.1f} s")
    ready = infra.wait_until(lambda: readyz(env)[0] == 200, 60)
    r.check("revoked: ingest resumes by itself once the grant is back (/readyz 200)", bool(ready),
            f"after {time.time() - granted:.1f} s")
    r.info.update(detect_s=round(detect, 1), dlq_before=dlq_before, dlq_during=dlq_during)

    rc = env.wait_producer(stream.duration + 300)
    r.check("producer-sim delivered every record (exit 0)", rc == 0, f"exit {rc}")
    m = env.manifest()
    r.orders, r.sent = len(m.valid), len(m)
    values = env.print_values(stream)
    common_checks(env, m, values, r, query_api=True)
    checks.check_after_fault(env, r, granted, [granted])


CATALOGUE = {
    "big-orders": ("a backlog of 240 near-1 MiB orders (1,000 items) under ingest's 256 MiB limit", big_orders),
    "far-future-retry": ("retry records with a far-future due time, an absurd attempt count, a garbled due time",
                         far_future_retry),
    "revoked-grant": ("ingest's writer role loses INSERT for 15 s mid-stream; query-api reads as the reader role",
                      revoked_grant),
}


def run(name: str, run_id: str, logroot: Path, keep_all: bool) -> Result:
    description, drill = CATALOGUE[name]
    result = Result(name)
    env = TunedEnv(run_id, name, logroot / name)
    log(f"== {name}: {description} (logs {env.logdir})")
    with checks.running(name, env, result, keep_all):
        env.setup()
        drill(env, result)
    return result
