"""Reliability drills for the order pipeline (docs/DRILLS.md).

    scripts/drills.sh [--quick] [--only NAME,...] [--keep] [--list] [--no-build]

Run through scripts/drills.sh (`python3 -m drills` with scripts/ on the path), which brings the
local stack up and builds the release binaries first. Each drill gets its own database, topics,
consumer group, Redis key prefix and ports,
streams seeded orders from producer-sim, applies a fault mid-stream and checks that nothing was
lost, stored twice or dead-lettered wrongly. Results: a table on stdout and
.stack/drills/results.json; the exit code is 1 when any check failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import signal
import sys
import time
from pathlib import Path

from pipelinekit import resources as kit
from pipelinekit.services import BIN

from . import catalogue, checks, cluster, cluster_drills, hardening, infra, probe
from .checks import Result
from .infra import STATE, log
from .pipeline import DrillEnv, Stream


def api_drill(run_id: str, logroot: Path, quick: bool, keep_all: bool) -> Result:
    """Not a fault drill: query-api over a fresh database with some orders, probed with hostile
    requests and slow clients, then fuzzed by schemathesis against its OpenAPI document."""
    result = Result("api")
    env = DrillEnv(run_id, "api", logroot / "api")
    log(f"== api: robustness probe and schemathesis against query-api (logs {env.logdir})")
    with checks.running("api", env, result, keep_all):
        env.setup()
        env.start_ingest("i0")
        # Access control on, as deployed: one random API key with both scopes (contract §8).
        token = secrets.token_hex(32)
        keys = env.logdir / "api-keys"
        keys.write_text(f"drill {hashlib.sha256(token.encode()).hexdigest()} orders:read,orders:list\n")
        env.query_api_settings = {"AUTH_MODE": "api-key", "API_KEYS_FILE": str(keys)}
        env.start_query_api()
        stream = Stream(400, 0, seed=108, invalid_ratio=0.0, duplicate_ratio=0.0)
        env.start_producer(stream, env.logdir / "manifest.tsv")
        rc = env.wait_producer(120)
        result.check("producer-sim delivered every record (exit 0)", rc == 0, f"exit {rc}")
        manifest = env.manifest()
        result.orders = result.sent = len(manifest.valid)
        drained, lag, _ = env.drain(len(manifest.valid), timeout=120)
        result.lag = lag
        result.check("setup: the orders are stored", drained, f"{env.stored_count()} of {len(manifest.valid)}")
        uid = next(iter(manifest.valid))
        probe.robustness_probe(env.http_port, uid, result, token, slow_wait=20.0)
        probe.run_schemathesis(env.http_port, env.logdir, result, max_examples=25 if quick else 100, token=token)
        result.check("query-api still running", env.query_api is not None and env.query_api.alive())
    return result


def fmt(value, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}{suffix}"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    return str(value)


def table(results: list[Result]) -> str:
    head = ["drill", "orders", "lost", "duplicates", "DLQ exp/act", "lag", "after fault", "recovery", "result"]
    rows = []
    for r in results:
        dlq = "–" if r.dlq_expected is None else f"{r.dlq_expected}/{fmt(r.dlq_actual)}"
        rows.append([r.drill, fmt(r.orders), fmt(r.lost), fmt(r.duplicates), dlq, fmt(r.lag), fmt(r.after_fault),
                     fmt(r.recovery_s, " s"), "PASS" if r.passed else ("ERROR" if r.error else "FAIL")])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *(line(r) for r in rows)])


def cleanup_leftovers() -> None:
    """Databases, topics and groups of earlier runs (kept when a drill failed) are dropped."""
    for db in kit.list_databases("drills_"):
        kit.drop_database(db)
    kit.delete_topics("drills\\..*")
    if cluster.running():
        kit.delete_topics("drills\\..*", brokers=cluster.BROKERS)
        cluster.redis_delete_prefix("drills:")


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/drills.sh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="CI version: one short kill drill, one 10 s PostgreSQL outage, a Kafka broker kill"
                             " on the clustered engines, the API probe and schemathesis")
    parser.add_argument("--only", default="", help="comma-separated drill names (see --list)")
    parser.add_argument("--keep", action="store_true",
                        help="keep every drill's database and topics (default: failed ones)")
    parser.add_argument("--list", action="store_true", help="list the drills and exit")
    parser.add_argument("--no-build", action="store_true",
                        help="(scripts/drills.sh) skip `cargo build --release --bins`, use the binaries as they are")
    args = parser.parse_args()

    drills = catalogue.catalogue(args.quick) + cluster_drills.catalogue(args.quick)
    names = [d.name for d in drills] + ["api"] + list(hardening.CATALOGUE)
    if args.list:
        for d in drills:
            print(f"{d.name:16} {d.description} ({d.stream.count:,} orders at {d.stream.rate:,.0f}/s)")
        print(f"{'api':16} query-api robustness probe (oversized/odd requests, slow clients) and schemathesis")
        for name, (description, _) in hardening.CATALOGUE.items():
            print(f"{name:16} {description}")
        return 0
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in names]
    if unknown:
        parser.error(f"unknown drill(s) {unknown}; choose from {names}")
    selected = only or names

    for exe in ("ingest", "query-api", "producer-sim"):
        if not (BIN / exe).exists():
            log(f"missing {BIN / exe}: run `cargo build --release --bins` (scripts/drills.sh does)")
            return 2

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    run_id = time.strftime("%m%d%H%M%S")
    logroot = STATE / run_id
    logroot.mkdir(parents=True, exist_ok=True)
    started = time.time()
    results: list[Result] = []
    interrupted = False
    try:
        infra.restore_services()
        if cluster_drills.needs_cluster([d for d in drills if d.name in selected]):
            cluster.up()
        cleanup_leftovers()
        for drill in drills:
            if drill.name in selected:
                results.append(catalogue.run_drill(drill, run_id, logroot, keep_all=args.keep))
        if "api" in selected:
            results.append(api_drill(run_id, logroot, args.quick, keep_all=args.keep))
        # None of these stops a shared service; the quick (CI) run leaves out the longer ones.
        for name in hardening.CATALOGUE:
            if name in selected and (name in only or not args.quick or name == "revoked-grant"):
                results.append(hardening.run(name, run_id, logroot, keep_all=args.keep))
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: stopping processes and restoring the stack")
    finally:
        infra.PROCS.stop_all()
        infra.restore_services()

    elapsed = time.time() - started
    text = table(results)
    print()
    print(text)
    print(f"\n{sum(r.passed for r in results)} passed, {sum(not r.passed for r in results)} failed"
          f" in {elapsed:.0f} s ({'quick' if args.quick else 'full'}; logs in {logroot})")
    for r in results:
        for c in r.checks:
            if not c.ok:
                print(f"  {r.drill}: FAILED {c.name}: {c.detail}")
        if r.error:
            print(f"  {r.drill}: ERROR {r.error}")
    payload = {
        "run_id": run_id, "mode": "quick" if args.quick else "full", "started": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "duration_s": round(elapsed, 1),
        "passed": bool(results) and all(r.passed for r in results) and not interrupted,
        "table": text, "drills": [r.to_json() for r in results],
    }
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    (logroot / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0 if payload["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
