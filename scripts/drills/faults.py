"""The faults the drills apply mid-stream (kill, SIGTERM, service outages, scaling, DLQ replay) and
the checks that belong to one fault, over the context a running drill shares with them."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipelinekit import resources as kit
from pipelinekit.services import BIN, run

from . import infra
from .checks import Result
from .infra import log
from .pipeline import DrillEnv, Manifest, Stream
from .reads import Reader


@dataclass
class Ctx:
    """What a running drill knows: its pipeline, the stream, the result, and the fault window."""

    env: DrillEnv
    stream: Stream
    result: Result
    t0: float = 0.0  # when producer-sim started
    fault_start: float | None = None
    fault_end: float | None = None
    recovery_points: list[float] = field(default_factory=list)  # each time a fault ended
    state: dict = field(default_factory=dict)
    manifest: Manifest | None = None
    values: dict = field(default_factory=dict)

    def at(self, seconds: float) -> None:
        """Sleeps until `seconds` after the stream started."""
        delay = self.t0 + seconds - time.time()
        if delay > 0:
            time.sleep(delay)

    def end_fault(self) -> None:
        self.fault_end = time.time()
        self.recovery_points.append(self.fault_end)


# ======================================================================================= faults
def kill_fault(kills: int, first: float, every: float, pause: float = 1.0):
    def fault(ctx: Ctx) -> None:
        env = ctx.env
        ctx.fault_start = ctx.t0 + first
        for i in range(kills):
            ctx.at(first + i * every)
            env.ingests["i0"].signal(signal.SIGKILL)
            env.ingests["i0"].popen.wait(10)
            log(f"  SIGKILL ingest ({i + 1}/{kills}) at +{time.time() - ctx.t0:.1f} s; restarting in {pause} s")
            time.sleep(pause)
            env.start_ingest("i0", wait_ready=False)
            ctx.end_fault()
    return fault


def sigterm_fault(at: float, pause: float = 2.0):
    def fault(ctx: Ctx) -> None:
        env, r = ctx.env, ctx.result
        ctx.at(at)
        ctx.fault_start = time.time()
        log(f"  SIGTERM ingest at +{time.time() - ctx.t0:.1f} s")
        rc = env.ingests["i0"].stop(60)
        stop_s = time.time() - ctx.fault_start
        r.check("sigterm: ingest exits cleanly (code 0) after SIGTERM", rc == 0, f"exit code {rc} after {stop_s:.1f} s")
        committed, raw = infra.describe_group(env.group)
        ctx.state["committed"] = committed
        (env.logdir / "group-after-stop.txt").write_text(raw)
        time.sleep(pause)
        env.start_ingest("i0", wait_ready=False)
        ctx.end_fault()
    return fault


def sigterm_checks(ctx: Ctx) -> None:
    """No reprocessing: the restarted instance handled exactly the records after the offsets the
    stopped one committed, so its `duplicate` count is only the re-sends producer-sim made."""
    env, r, m = ctx.env, ctx.result, ctx.manifest
    committed = ctx.state["committed"]
    samples = env.ingest_metrics("i0")
    got = {o: infra.metric_sum(samples, "ingest_records_total", outcome=o)
           for o in ("stored", "duplicate", "dead_lettered", "retried")}
    records = infra.dump_topic(env.orders_topic, len(m))
    if len(records) != len(m):
        r.check("sigterm: topic dump has every record (ConsoleConsumer)", False, f"{len(records)} of {len(m)}")
        return
    expected = {"valid": 0, "duplicate": 0, "poison": 0}
    for partition, offset, headers, _key in records:
        if offset < (committed.get((env.orders_topic, partition)) or 0):
            continue
        kind = m.kinds.get(int(headers.get("x-sim-seq", -1)), "?")
        expected["poison" if kind in ("invalid", "malformed") else kind] = \
            expected.get("poison" if kind in ("invalid", "malformed") else kind, 0) + 1
    r.info["restarted_ingest"] = {"metrics": got, "expected_after_commit": expected,
                                  "committed": {f"{t}/{p}": o for (t, p), o in committed.items()}}
    extra_dups = got["duplicate"] - expected["duplicate"]
    r.check("sigterm: no reprocessing (restarted ingest's duplicate count − re-sends after the committed offsets = 0)",
            extra_dups == 0, f"duplicate {got['duplicate']:.0f} − expected {expected['duplicate']} = {extra_dups:.0f}")
    r.check("sigterm: restarted ingest stored exactly the valid orders after the committed offsets",
            got["stored"] == expected["valid"], f"stored {got['stored']:.0f}, expected {expected['valid']}")
    r.check("sigterm: restarted ingest dead-lettered exactly the poison after the committed offsets",
            got["dead_lettered"] == expected["poison"], f"{got['dead_lettered']:.0f}, expected {expected['poison']}")


def outage(service: str, at: float, duration: float, during: Callable[[Ctx, float], None] | None = None):
    def fault(ctx: Ctx) -> None:
        ctx.at(at)
        log(f"  stopping {service} at +{time.time() - ctx.t0:.1f} s for {duration:.0f} s")
        ctx.fault_start = time.time()
        try:
            infra.stack("stop", service)
            ctx.state["stopped_at"] = time.time()
            deadline = ctx.fault_start + duration
            if during:
                during(ctx, deadline)
            delay = deadline - time.time()
            if delay > 0:
                time.sleep(delay)
        finally:
            # The fault ends when the service is being started again: recovery then includes its
            # own start-up and the pipeline reconnecting to it.
            ctx.end_fault()
            infra.stack("start", service)  # always: never leave the stack broken
            ctx.result.info[f"{service}_start_s"] = round(time.time() - ctx.fault_end, 2)
            log(f"  {service} is back at +{time.time() - ctx.t0:.1f} s")
    return fault


def postgres_during(ctx: Ctx, deadline: float) -> None:
    """Samples ingest's /readyz while PostgreSQL is down: it must say not-ready (503)."""
    statuses: dict[str, int] = {}
    while time.time() < deadline:
        s = infra.http_status(ctx.env.ingest_ports["i0"], "/readyz", timeout=2)
        statuses[str(s)] = statuses.get(str(s), 0) + 1
        time.sleep(0.5)
    ctx.state["readyz"] = statuses


def postgres_checks(ctx: Ctx) -> None:
    r, env = ctx.result, ctx.env
    statuses = ctx.state.get("readyz", {})
    r.check("postgres-outage: ingest /readyz answered 503 while PostgreSQL was down", statuses.get("503", 0) > 0,
            f"statuses seen: {statuses}")
    back = infra.wait_until(lambda: infra.http_status(env.ingest_ports["i0"], "/readyz") == 200, 60)
    r.check("postgres-outage: ingest /readyz back to 200 after", bool(back))
    kinds = r.info.get("dlq_kinds", {})
    r.check("postgres-outage: no dead letter caused by the outage (only invalid/malformed poison)",
            set(kinds) <= {"invalid", "malformed"} and r.dlq_actual == r.dlq_expected
            and r.info.get("dlq_records") == r.dlq_actual, f"kinds {kinds}, records {r.info.get('dlq_records')}")


def redis_during(ctx: Ctx, deadline: float) -> None:
    """While Redis is down: ingest keeps storing, query-api keeps answering from PostgreSQL."""
    env = ctx.env
    before = env.stored_count()
    with Reader(env, "SELECT order_uid FROM orders ORDER BY stored_at DESC LIMIT 3") as reader:
        time.sleep(max(0.0, deadline - 0.5 - time.time()))  # the outage's length is the drill's
    after = env.stored_count()
    ctx.state.update(redis_reads=dict(reader.statuses), redis_read_failures=reader.failures,
                     asked=reader.asked, count_before=before, count_after=after)


def redis_refill(ctx: Ctx) -> None:
    """After Redis is back: a GET of an order stored during the outage (never requested before, so
    not in query-api's in-process cache) makes its Redis key appear."""
    env, r = ctx.env, ctx.result
    st = ctx.state
    r.check("redis-outage: ingest kept storing during the outage", st["count_after"] > st["count_before"],
            f"{st['count_before']:,} → {st['count_after']:,} orders while Redis was down")
    n = sum(st["redis_reads"].values())
    r.check("redis-outage: query-api kept answering from PostgreSQL during the outage",
            n > 0 and st["redis_reads"].get("200", 0) == n,
            f"{st['redis_reads']} of {n} sampled reads"
            + (f"; {st['redis_read_failures']}" if st['redis_read_failures'] else ""))
    candidates = [row[0] for row in kit.psql_rows(env.db, f"""
        SELECT order_uid FROM orders WHERE stored_at BETWEEN to_timestamp({st['stopped_at']:.6f})
        AND to_timestamp({ctx.fault_end:.6f}) ORDER BY random() LIMIT 40""")]
    candidates = [u for u in candidates if u not in st["asked"]]
    client = infra.Http(env.http_port)
    outcome, tried = None, []
    deadline = time.time() + 20
    for uid in candidates:
        if time.time() > deadline:
            break
        present_before = kit.redis_exists(env.cache_key(uid))
        status, headers, _ = client.get(f"/order/{uid}")
        appeared = infra.wait_until(lambda u=uid: kit.redis_exists(env.cache_key(u)), 3, 0.1)
        tried.append(f"{uid}: before {int(present_before)}, GET {status} x-cache {headers.get('x-cache')}, "
                     f"after {int(bool(appeared))}")
        if status == 200 and appeared and not present_before:
            outcome = tried[-1]
            break
        time.sleep(1)
    r.check("redis-outage: cache refills after recovery (GET makes the Redis key reappear)", outcome is not None,
            outcome or f"tried {tried[:4]}" if tried else "no order stored during the outage to try")


def scale_fault(up_at: float, down_at: float):
    def fault(ctx: Ctx) -> None:
        env, r = ctx.env, ctx.result
        ctx.at(up_at)
        ctx.fault_start = time.time()
        log(f"  scaling ingest 1 → 3 at +{time.time() - ctx.t0:.1f} s")
        env.start_ingest("i1", wait_ready=False)
        env.start_ingest("i2", wait_ready=False)

        def three_assigned():
            members = infra.group_members(env.group)
            with_parts = [m for m in members if m.get("#PARTITIONS", "0").isdigit() and int(m["#PARTITIONS"]) > 0]
            return members if len(members) == 3 and len(with_parts) == 3 else None

        members = infra.wait_until(three_assigned, 40, 1)
        r.check("scale: three members in the group, each with partitions (ConsumerGroupCommand --members)",
                bool(members), f"{[(m.get('CLIENT-ID'), m.get('#PARTITIONS')) for m in (members or [])]}")
        ctx.at(down_at)
        stored = {}
        for name in ("i1", "i2"):
            try:
                stored[name] = infra.metric_sum(env.ingest_metrics(name), "ingest_records_total", outcome="stored")
            except Exception:  # noqa: BLE001
                stored[name] = None
        log(f"  scaling ingest 3 → 1 at +{time.time() - ctx.t0:.1f} s (SIGTERM to i1, i2)")
        codes = {}
        threads = [threading.Thread(target=lambda n=n: codes.__setitem__(n, env.ingests[n].stop(60)))
                   for n in ("i1", "i2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        r.info["scale"] = {"stored_by_extra_instances_before_stop": stored, "exit_codes": codes}
        r.check("scale: the extra instances stored orders while they ran",
                all(v and v > 0 for v in stored.values()), f"{stored}")
        r.check("scale: the extra instances exit cleanly on SIGTERM", all(c == 0 for c in codes.values()), f"{codes}")
        ctx.end_fault()
    return fault


def no_fault(ctx: Ctx) -> None:
    pass


def replay_checks(ctx: Ctx) -> None:
    """`ingest dlq replay --all`: every dead letter is republished once, comes back to the DLQ
    once (now tagged x-replayed-from), none is stored, and a second replay publishes nothing."""
    env, r, m = ctx.env, ctx.result, ctx.manifest
    originals = [row for row in env.dlq_inspect() if not row.get("replayed_from")]
    coords = {f"{row['topic']}/{row['partition']}/{row['offset']}" for row in originals}
    stored_before = env.stored_count()
    ends_before = infra.end_offsets(env.orders_topic)
    ctx.fault_start = time.time()
    cp = run([str(BIN / "ingest"), "dlq", "replay", "--all"], env=env.env(), timeout=300, check=False)
    (env.logdir / "replay-1.log").write_text(cp.stdout + "\n--- stderr\n" + cp.stderr)
    r.check("replay: `ingest dlq replay --all` succeeds", cp.returncode == 0,
            f"exit {cp.returncode}: "
            f"{cp.stdout.strip().splitlines()[-1:] if cp.stdout.strip() else cp.stderr.strip()[-300:]}")
    ctx.end_fault()
    ends_after = infra.end_offsets(env.orders_topic)
    published = sum(ends_after[p] - ends_before.get(p, 0) for p in ends_after)
    r.check("replay: each dead letter republished once to the orders topic (GetOffsetShell)",
            published == len(originals), f"{published} published for {len(originals)} dead letters")

    def settled():
        rows = env.dlq_inspect()
        return rows if len(rows) >= 2 * len(originals) else None

    infra.wait_until(settled, 90, 2)
    drained, lag, detail = env.drain(len(m.valid), timeout=120)
    rows = env.dlq_inspect()
    replayed = [row for row in rows if row.get("replayed_from")]
    per_origin: dict[str, int] = {}
    for row in replayed:
        per_origin[row["replayed_from"]] = per_origin.get(row["replayed_from"], 0) + 1
    wrong = {c: n for c, n in per_origin.items() if c not in coords or n != 1}
    absent = sorted(coords - set(per_origin))
    r.dlq_expected = 2 * len(originals)
    r.dlq_actual = len(rows)
    r.check("replay: every replayed record is back in the DLQ exactly once, tagged x-replayed-from",
            not wrong and not absent and len(replayed) == len(originals),
            f"{len(replayed)} replayed dead letters for {len(originals)} originals"
            + (f"; wrong {dict(list(wrong.items())[:3])}" if wrong else "")
            + (f"; absent {absent[:3]}" if absent else ""))
    bad_kind = [row for row in replayed if row.get("kind") not in ("invalid", "malformed")]
    r.check("replay: replayed dead letters keep their kind (invalid/malformed)", not bad_kind,
            f"{[(b.get('kind'), b.get('replayed_from')) for b in bad_kind[:3]]}")
    stored_after = env.stored_count()
    poison_keys = [m.keys[s] for s in m.poison if m.keys.get(s)]
    leaked = 0
    if poison_keys:
        quoted = ",".join("'" + k.replace("'", "''") + "'" for k in poison_keys)
        leaked = int(kit.psql_scalar(env.db, f"SELECT count(*) FROM orders WHERE order_uid IN ({quoted})"))
    r.check("replay: no replayed record was stored", stored_after == stored_before and leaked == 0,
            f"orders {stored_before} → {stored_after}, poison keys stored {leaked}")
    r.check("replay: lag 0 after the replay", drained and lag == 0, f"lag {lag}")
    r.lag = lag
    # Second replay: nothing new to publish (the originals are in the ledger, the re-dead-lettered
    # ones carry x-replayed-from) — nothing loops.
    cp2 = run([str(BIN / "ingest"), "dlq", "replay", "--all"], env=env.env(), timeout=300, check=False)
    (env.logdir / "replay-2.log").write_text(cp2.stdout + "\n--- stderr\n" + cp2.stderr)
    ends_2 = infra.end_offsets(env.orders_topic)
    again = sum(ends_2[p] - ends_after.get(p, 0) for p in ends_2)
    time.sleep(3)
    rows2 = env.dlq_inspect()
    r.check("replay: a second replay publishes nothing and the DLQ stays as it is",
            cp2.returncode == 0 and again == 0 and len(rows2) == len(rows),
            f"exit {cp2.returncode}, published {again}, DLQ {len(rows)} → {len(rows2)}; "
            f"output: {(cp2.stdout.strip().splitlines() or [''])[-1][:160]}")
