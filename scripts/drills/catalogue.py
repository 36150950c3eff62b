"""The drills: each streams a seeded order mix through its own pipeline, applies one fault
(faults.py) mid-stream, lets the system recover and then runs the common checks plus its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import checks, infra
from .checks import Result
from .faults import (
    Ctx,
    kill_fault,
    no_fault,
    outage,
    postgres_checks,
    postgres_during,
    redis_during,
    redis_refill,
    replay_checks,
    scale_fault,
    sigterm_checks,
    sigterm_fault,
)
from .infra import log
from .pipeline import DrillEnv, Stream


@dataclass
class Drill:
    name: str
    description: str
    stream: Stream
    fault: Callable[[Ctx], None]
    before_checks: Callable[[Ctx], None] | None = None
    after_checks: Callable[[Ctx], None] | None = None
    exactly_once_dlq: bool = True  # no crash: nothing may be dead-lettered twice
    needs_after_fault: bool = True
    stopped_service: str | None = None  # what the finally block must bring back
    env_class: type = DrillEnv  # the cluster drills run on the clustered engines (cluster.py)


# ======================================================================================= catalogue
def catalogue(quick: bool) -> list[Drill]:
    if quick:
        return [
            Drill("kill", "SIGKILL ingest twice during an 8,000-order stream, restarting it each time",
                  Stream(8_000, 1_000, seed=101), kill_fault(kills=2, first=2.0, every=2.5),
                  exactly_once_dlq=False),
            Drill("postgres-outage", "stop PostgreSQL for 10 s mid-stream",
                  Stream(18_000, 1_000, seed=103),
                  outage("postgres", at=2.5, duration=10, during=postgres_during),
                  after_checks=postgres_checks, stopped_service="postgres"),
        ]
    return [
        Drill("kill", "SIGKILL ingest five times during a 50,000-order stream, restarting it each time",
              Stream(50_000, 2_000, seed=101), kill_fault(kills=5, first=3.0, every=4.0), exactly_once_dlq=False),
        Drill("sigterm", "stop ingest cleanly (SIGTERM) mid-stream and restart it: no reprocessing",
              Stream(30_000, 2_000, seed=102), sigterm_fault(at=6.0), after_checks=sigterm_checks),
        Drill("postgres-outage", "stop PostgreSQL for 30 s mid-stream",
              Stream(50_000, 1_000, seed=103), outage("postgres", at=8.0, duration=30, during=postgres_during),
              after_checks=postgres_checks, stopped_service="postgres"),
        Drill("redis-outage", "stop Redis for 15 s mid-stream",
              Stream(30_000, 1_000, seed=104), outage("redis", at=8.0, duration=15, during=redis_during),
              before_checks=redis_refill, stopped_service="redis"),
        Drill("kafka-restart", "restart the Kafka broker mid-stream",
              Stream(30_000, 1_000, seed=105), outage("kafka", at=8.0, duration=5), stopped_service="kafka",
              exactly_once_dlq=False),
        Drill("scale", "three ingest instances in one group: 1 → 3 → 1 during the stream",
              Stream(40_000, 2_000, seed=106), scale_fault(up_at=4.0, down_at=13.0)),
        Drill("replay", "replay the DLQ of a poisoned stream: each dead letter comes back once, nothing loops",
              Stream(6_000, 2_000, seed=107, invalid_ratio=0.03), no_fault, after_checks=replay_checks,
              needs_after_fault=False),
    ]


# ======================================================================================= running
def run_drill(drill: Drill, run_id: str, logroot: Path, keep_all: bool = False) -> Result:
    result = Result(drill.name)
    env = drill.env_class(run_id, drill.name, logroot / drill.name)
    ctx = Ctx(env, drill.stream, result)
    log(f"== {drill.name}: {drill.description} (logs {env.logdir})")
    restore = infra.restore_services if drill.stopped_service else None
    with checks.running(drill.name, env, result, keep_all, before_cleanup=restore):
        env.setup()
        env.start_ingest("i0")
        env.start_query_api()
        env.watch()
        manifest_path = env.logdir / "manifest.tsv"
        ctx.t0 = time.time()
        env.start_producer(drill.stream, manifest_path)
        try:
            drill.fault(ctx)
        finally:
            if drill.stopped_service:
                infra.restore_services()
        rc = env.wait_producer(drill.stream.duration + 300)
        result.check("producer-sim delivered every record (exit 0)", rc == 0,
                     f"exit {rc}: {env.producer.tail(3) if rc else ''}".strip())
        ctx.manifest = m = env.manifest()
        result.orders, result.sent = len(m.valid), len(m)
        result.info.update(valid=len(m.valid), poison=len(m.poison), duplicates_sent=len(m.duplicates))
        log(f"  stream done: {len(m):,} records ({len(m.valid):,} valid, {len(m.poison)} poison, "
            f"{len(m.duplicates)} re-sends); draining")
        drained, lag, detail = env.drain(len(m.valid))
        ctx.values = env.print_values(drill.stream)
        if drill.before_checks:
            drill.before_checks(ctx)
        checks.check_store(env, m, ctx.values, result)
        checks.check_reads(env, m, ctx.values, result)
        checks.check_dlq(env, m, ctx.values, result, exactly_once=drill.exactly_once_dlq)
        checks.check_lag(env, result, drained, lag, detail)
        if drill.needs_after_fault:
            if ctx.fault_end is None:
                result.check("the fault was applied", False)
            else:
                checks.check_after_fault(env, result, ctx.fault_end, ctx.recovery_points)
        if drill.after_checks:
            drill.after_checks(ctx)
        result.check("no process died by itself", not env.events, "; ".join(env.events))
    return result
