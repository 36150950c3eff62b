"""The drills on the clustered engines (contract §10): a Kafka broker leading busy partitions is
SIGKILLed mid-stream and restarted 15 s later; a Redis Cluster master is SIGKILLed while ingest
writes and query-api reads; the PostgreSQL replica's replay is paused while orders arrive, then
the replica is stopped. Each ends with the common checks (nothing lost or stored twice, DLQ =
poison sent, lag 0) plus its own. For these drills `recovery` is the longest the pipeline (or
the read path) went without doing its job after the fault began."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

from pipelinekit import resources as kit

from . import cluster, infra
from .catalogue import Drill
from .cluster import ClusterEnv
from .faults import Ctx
from .infra import DrillError, log
from .pipeline import Stream
from .reads import SETTLED, Reader


class RedisDrillEnv(ClusterEnv):
    """query-api without its in-process cache, so `x-cache` says what Redis did."""

    def query_api_env(self) -> dict[str, str]:
        return self.env(NEAR_CACHE_ENTRIES="0")


class ReplicaDrillEnv(ClusterEnv):
    """query-api with its own key prefix and no in-process cache: every first read of an order
    goes to PostgreSQL (the replica), not to the entries ingest wrote."""

    def query_api_env(self) -> dict[str, str]:
        return self.env(NEAR_CACHE_ENTRIES="0", ORDER_CACHE_KEY_PREFIX=f"{self.key_prefix}reads:")


def longest_stall(env: ClusterEnv, since: float, until: float) -> float:
    """The longest time without a stored order from `since` to `until` (edges included)."""
    gap = kit.psql_scalar(env.db, f"""
        WITH t AS (SELECT extract(epoch FROM stored_at) s FROM orders
                   WHERE stored_at BETWEEN to_timestamp({since:.6f}) AND to_timestamp({until:.6f})
                   UNION ALL SELECT {since:.6f} UNION ALL SELECT {until:.6f})
        SELECT max(s - prev) FROM (SELECT s, lag(s) OVER (ORDER BY s) prev FROM t) g""")
    return round(float(gap or 0), 2)


# ======================================================================================= broker kill
def broker_kill(at: float, down_for: float = 15.0):
    def fault(ctx: Ctx) -> None:
        env, r = ctx.env, ctx.result
        ctx.at(at)
        led = Counter(leader for leader in cluster.leaders(env.orders_topic).values() if leader is not None)
        if not led:
            raise DrillError("the orders topic has no partition leaders")
        victim, count = led.most_common(1)[0]
        service = f"kafka-{victim}"
        ctx.state.update(victim=victim, led=count, before=env.stored_count())
        log(f"  SIGKILL {service} (leader of {count} of {sum(led.values())} partitions)"
            f" at +{time.time() - ctx.t0:.1f} s")
        ctx.fault_start = infra.stack("kill", service)
        watcher = threading.Thread(target=watch_leaders, args=(ctx, victim), daemon=True)
        watcher.start()
        ctx.state["watcher"] = watcher
        delay = ctx.fault_start + down_for - time.time()
        if delay > 0:
            time.sleep(delay)
        ctx.state["during"] = env.stored_count() - ctx.state["before"]
        ctx.end_fault()
        infra.stack("start", service)
        r.info["kafka_start_s"] = round(time.time() - ctx.fault_end, 1)
        log(f"  {service} is back at +{time.time() - ctx.t0:.1f} s")
    return fault


def watch_leaders(ctx: Ctx, victim: int, limit: float = 90.0) -> None:
    """Notes when every orders partition first has a leader other than the killed broker (each
    look starts a JVM: seconds apart on a busy machine, so this is an upper bound)."""
    ctx.state["leaders_moved_s"] = None
    while time.time() < ctx.fault_start + limit:
        now = cluster.leaders(ctx.env.orders_topic)
        if now and all(x is not None and x != victim for x in now.values()):
            ctx.state["leaders_moved_s"] = round(time.time() - ctx.fault_start, 1)
            return
        time.sleep(0.5)


def broker_kill_checks(ctx: Ctx) -> None:
    env, r, st, m = ctx.env, ctx.result, ctx.state, ctx.manifest
    st["watcher"].join(120)
    r.check(f"broker-kill: the killed broker kafka-{st['victim']} led partitions of the orders topic",
            st["led"] > 0, f"{st['led']} of 6")
    r.check("broker-kill: every orders partition got a leader on a live broker",
            st["leaders_moved_s"] is not None, f"seen {st['leaders_moved_s']} s after the kill")
    r.check("broker-kill: ingest stored orders while the broker was down", st["during"] > 0,
            f"{st['during']:,} orders stored in the {ctx.fault_end - ctx.fault_start:.0f} s after the kill")
    ends = infra.end_offsets_many([env.orders_topic, env.dlq_topic], cluster.BROKERS)
    in_topic = sum(ends[env.orders_topic].values())
    r.check("broker-kill: the orders topic holds each record sent exactly once (idempotent acks=all producer)",
            in_topic == len(m), f"{in_topic} records for {len(m)} sent")
    urp = infra.wait_until(lambda: cluster.under_replicated([env.orders_topic]) == 0, 180, 2)
    r.check("broker-kill: every replica back in sync after the restart (no under-replicated partition)",
            urp is not None, "TopicCommand --under-replicated-partitions")
    r.recovery_s = longest_stall(env, ctx.fault_start - 1, ctx.fault_end + 10)
    r.info.update(leaders_moved_s=st["leaders_moved_s"], stored_during_outage=st["during"],
                  recovery_definition="longest gap between stored orders from 1 s before the kill "
                  "to 10 s after the restart")


# ======================================================================================= Redis master kill
def redis_master_kill(at: float, down_for: float = 15.0):
    def fault(ctx: Ctx) -> None:
        env, st = ctx.env, ctx.state
        ctx.at(at)
        newest = kit.psql_scalar(env.db, "SELECT order_uid FROM orders ORDER BY stored_at DESC LIMIT 1")
        slot = cluster.slot(env.cache_key(newest))
        victim = cluster.master_of(slot)
        if victim is None:
            raise DrillError(f"no master serves slot {slot}")
        st.update(slot=slot, victim=victim, before=env.stored_count())
        service = f"redis-{victim['port']}"
        def group(uid: str) -> str:
            if st.get("failover_s") is not None:
                return "after failover"
            on_victim = any(lo <= cluster.slot(env.cache_key(uid)) <= hi for lo, hi in victim["slots"])
            return "failed master" if on_victim else "other masters"

        with Reader(env, SETTLED, group) as reader:
            time.sleep(2)  # reads before the kill, as a baseline
            log(f"  SIGKILL {service} (master of slots {victim['slots']}) at +{time.time() - ctx.t0:.1f} s")
            ctx.fault_start = infra.stack("kill", service)
            promoted = infra.wait_until(lambda: (n := cluster.master_of(slot)) and n["id"] != victim["id"] and n,
                                        down_for + 30, 0.2)
            st["failover_s"] = round(time.time() - ctx.fault_start, 1) if promoted else None
            st["new_master"] = promoted
            st["cache_back_s"] = cache_back(ctx, victim) if promoted else None
            delay = ctx.fault_start + down_for - time.time()
            if delay > 0:
                time.sleep(delay)
            st["readyz"] = infra.http_status(env.http_port, "/readyz")
        st.update(reader=reader, during=env.stored_count() - st["before"])
        ctx.end_fault()
        infra.stack("start", service)
        log(f"  {service} is back (as a replica) at +{time.time() - ctx.t0:.1f} s")
    return fault


def cache_back(ctx: Ctx, victim: dict) -> float | None:
    """Seconds from the kill until an order stored after the failover, whose key lives in the
    failed master's slots, is in Redis (ingest wrote it) and query-api serves it from there."""
    env = ctx.env
    client = infra.Http(env.http_port, timeout=10)
    tried: set[str] = set()
    deadline = time.time() + 45
    while time.time() < deadline:
        rows = kit.psql_rows(env.db, f"""SELECT order_uid FROM orders
            WHERE stored_at > to_timestamp({time.time() - 2:.6f}) ORDER BY stored_at DESC LIMIT 40""")
        for (uid,) in rows:
            if uid in tried:
                continue
            tried.add(uid)
            slot = cluster.slot(env.cache_key(uid))
            if not any(lo <= slot <= hi for lo, hi in victim["slots"]) or not cluster.redis_get(env.cache_key(uid)):
                continue
            status, headers, _ = client.get(f"/order/{uid}")
            if status == 200 and headers.get("x-cache") == "hit":
                ctx.state["cache_back_uid"] = uid
                return round(time.time() - ctx.fault_start, 1)
        time.sleep(0.3)
    return None


def redis_master_kill_checks(ctx: Ctx) -> None:
    r, st = ctx.result, ctx.state
    reader = st["reader"]
    ok, detail = reader.all_ok()
    r.check("redis-master-kill: every read during the outage answered 200 (never 5xx)", ok, detail)
    groups = {f"{g} {c}": n for (g, c), n in sorted(reader.by_group.items())}
    other = reader.by_group[("other masters", "hit")], reader.by_group[("other masters", "miss")]
    r.check("redis-master-kill: other masters' keys stayed cached until the failover (mostly hits)",
            other[0] > other[1], f"{groups}")
    r.check("redis-master-kill: a replica took over the failed master's slots",
            st["failover_s"] is not None, f"after {st['failover_s']} s on port {(st['new_master'] or {}).get('port')}")
    r.check("redis-master-kill: the cache is used again after the failover (an order written there is a hit)",
            st["cache_back_s"] is not None, f"{st['cache_back_s']} s after the kill ({st.get('cache_back_uid')})")
    r.check("redis-master-kill: ingest kept storing", st["during"] > 0, f"{st['during']:,} orders")
    r.check("redis-master-kill: query-api ready (200) during the outage", st["readyz"] == 200, f"{st['readyz']}")
    nodes = cluster.redis_nodes()
    r.check("redis-master-kill: the killed node is back as a replica, three masters serve every slot",
            len(nodes) == 6 and sum(n["master"] for n in nodes) == 3
            and sum(hi - lo + 1 for n in nodes if n["master"] for lo, hi in n["slots"]) == 16384,
            f"{len(nodes)} nodes, {sum(n['master'] for n in nodes)} masters")
    r.recovery_s = st["cache_back_s"]
    r.info.update(failover_s=st["failover_s"], cache_back_s=st["cache_back_s"], reads=dict(reader.statuses),
                  x_cache=dict(reader.cache), recovery_definition="kill → first order of the failed master's "
                  "slots written by ingest and served from Redis")


# ======================================================================================= replica
def replica_faults(pause_at: float, pause_for: float, stop_at: float, stop_for: float):
    def fault(ctx: Ctx) -> None:
        env, st = ctx.env, ctx.state
        ctx.at(pause_at)
        ctx.fault_start = time.time()
        fallbacks = env.query_metric("order_db_replica_fallbacks_total", reason="not_found")
        log(f"  pausing the replica's replay at +{time.time() - ctx.t0:.1f} s for {pause_for:.0f} s")
        cluster.replica_sql("SELECT pg_wal_replay_pause()")
        try:
            with Reader(env) as reader:
                time.sleep(pause_for)
        finally:
            cluster.replica_sql("SELECT pg_wal_replay_resume()")
        ctx.end_fault()
        st.update(paused=reader, not_found=env.query_metric("order_db_replica_fallbacks_total",
                                                             reason="not_found") - fallbacks)
        ctx.at(stop_at)
        log(f"  stopping the replica at +{time.time() - ctx.t0:.1f} s for {stop_for:.0f} s")
        stopped_at = infra.stack("stop", "postgres-replica")
        readyz: list[str] = []
        try:
            with Reader(env) as reader:
                while time.time() < stopped_at + stop_for:
                    readyz.append(replica_readiness(env))
                    time.sleep(1)
        finally:
            ctx.end_fault()
            infra.stack("start", "postgres-replica")
        st.update(stopped=reader, readyz=Counter(readyz), restarted=time.time(),
                  replica_reads=env.query_metric("order_db_reads_total", source="replica"))
        st["caught_up_s"] = round(time.time() - st["restarted"], 1) if cluster.replica_caught_up(120) else None
        log(f"  replica back at +{time.time() - ctx.t0:.1f} s")
    return fault


def replica_readiness(env: ClusterEnv) -> str:
    client = infra.Http(env.http_port, timeout=5)
    try:
        status, _, body = client.get("/readyz")
    except Exception:  # noqa: BLE001
        return "no answer"
    replica = json.loads(body).get("postgres_replica") if status in (200, 503) else None
    return f"{status} replica {replica}"


def replica_checks(ctx: Ctx) -> None:
    env, r, st = ctx.env, ctx.result, ctx.state
    ok, detail = st["paused"].all_ok()
    r.check("replica: every read answered 200 while replay was paused (newest orders found on the primary)",
            ok, detail)
    r.check("replica: not-founds on the lagging replica were checked on the primary", st["not_found"] > 0,
            f"{st['not_found']:.0f} reads")
    ok, detail = st["stopped"].all_ok()
    r.check("replica: every read answered 200 while the replica was down", ok, detail)
    r.check("replica: /readyz 200 with the replica shown down while it was stopped",
            st["readyz"].get("200 replica down", 0) > 0 and not [k for k in st["readyz"] if not k.startswith("200")],
            f"{dict(st['readyz'])}")
    r.check("replica: the replica caught up after its restart (replication slot)", st["caught_up_s"] is not None,
            f"{st['caught_up_s']} s after the start")
    up = infra.wait_until(lambda: replica_readiness(env) == "200 replica up", 30, 0.5)
    r.check("replica: /readyz shows the replica up again", up is not None, replica_readiness(env))
    # The common read check (every valid order once, after the restart) went through it.
    before, after = st["replica_reads"], env.query_metric("order_db_reads_total", source="replica")
    r.check("replica: reads come from the replica again after its restart",
            after - before >= len(ctx.manifest.valid) / 2,
            f"{after - before:.0f} reads answered by the replica since its restart, "
            f"{env.query_metric('order_db_reads_total', source='primary'):.0f} by the primary in all")
    r.recovery_s = st["caught_up_s"]
    r.info.update(replica_caught_up_s=st["caught_up_s"], readyz=dict(st["readyz"]),
                  recovery_definition="replica start → replayed everything the primary had")


# ======================================================================================= catalogue
def catalogue(quick: bool) -> list[Drill]:
    kill = Drill("broker-kill", "SIGKILL the Kafka broker leading the most orders partitions mid-stream, "
                 "restart it 15 s later (3-node cluster, RF 3, min ISR 2)",
                 # The stream outlasts the fault by ≥ 10 s even when finding the leader (a JVM start)
                 # delays the kill by seconds: the after-fault check needs orders sent after it.
                 Stream(35_000, 1_000, seed=111) if quick else Stream(60_000, 1_500, seed=111),
                 broker_kill(at=3.0 if quick else 8.0),
                 after_checks=broker_kill_checks, env_class=ClusterEnv)
    if quick:
        return [kill]
    return [
        kill,
        Drill("redis-master-kill", "SIGKILL a Redis Cluster master while ingest writes and query-api reads; "
              "restart it 15 s later (it rejoins as a replica)",
              Stream(30_000, 1_000, seed=112), redis_master_kill(at=5.0), after_checks=redis_master_kill_checks,
              env_class=RedisDrillEnv),
        Drill("replica", "pause the PostgreSQL replica's replay for 10 s while orders arrive, then stop the "
              "replica for 10 s", Stream(35_000, 1_000, seed=113),
              replica_faults(pause_at=4.0, pause_for=10.0, stop_at=16.0, stop_for=10.0),
              after_checks=replica_checks, env_class=ReplicaDrillEnv),
    ]


def needs_cluster(drills: list[Drill]) -> bool:
    return any(issubclass(d.env_class, ClusterEnv) for d in drills)

