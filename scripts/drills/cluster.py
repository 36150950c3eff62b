"""The clustered engines of contract §10 for the drills: a pipeline whose only differences from
the single-node one are the §10 settings (KAFKA_BROKERS listing the three brokers,
REDIS_CLUSTER_URLS, DATABASE_READ_URL), its topics replicated three times with min ISR 2, and
the looks the drills take at the cluster (partition leaders, Redis masters, the replica's
replay). Brought up with `scripts/stack.sh up --cluster` when a cluster drill is selected.

Only cluster nodes are ever stopped or killed here; the single-node stack other people's tests
use is left alone.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import time

from pipelinekit import resources as kit
from pipelinekit.services import POSTGRES, ROOT, run

from . import infra
from .infra import DrillError, log
from .pipeline import DrillEnv

BROKERS = "localhost:29092,localhost:29094,localhost:29096"
BROKER_PORTS = {1: 29092, 2: 29094, 3: 29096}  # node id -> client port (service kafka-<id>)
REDIS_PORTS = range(7000, 7006)
REDIS_URLS = ",".join(f"redis://127.0.0.1:{p}" for p in REDIS_PORTS)
REPLICA_PORT = 5433
TOPIC_CONFIGS = ("min.insync.replicas=2",)


def up() -> None:
    """`scripts/stack.sh up --cluster` (starts only what is missing; about 1.2 GB of RAM)."""
    started = time.time()
    log("bringing the clustered engines up (scripts/stack.sh up --cluster)")
    run([str(ROOT / "scripts" / "stack.sh"), "up", "--cluster"], timeout=900)
    log(f"clustered engines up in {time.time() - started:.0f} s")


def running() -> bool:
    return infra.port_open(BROKER_PORTS[1]) or infra.port_open(7000)


# ------------------------------------------------------------------------------------- Kafka
def leaders(topic: str) -> dict[int, int | None]:
    """partition -> leader node id (None while it has none), from Kafka's TopicCommand."""
    cp = kit.kafka_tool(kit.TOPIC_COMMAND, "--bootstrap-server", BROKERS, "--describe", "--topic", topic,
                        timeout=60, check=False)
    result: dict[int, int | None] = {}
    for m in re.finditer(r"Partition:\s*(\d+)\s+Leader:\s*(-?\d+|none)", cp.stdout):
        leader = m.group(2)
        result[int(m.group(1))] = int(leader) if leader.lstrip("-").isdigit() and int(leader) >= 0 else None
    return result


def under_replicated(topics: list[str]) -> int | None:
    """Partitions of `topics` with fewer in-sync replicas than replicas (None: no answer)."""
    cp = kit.kafka_tool(kit.TOPIC_COMMAND, "--bootstrap-server", BROKERS, "--describe",
                        "--under-replicated-partitions", timeout=60, check=False)
    if cp.returncode != 0:
        return None
    return sum(1 for line in cp.stdout.splitlines()
               if any(re.search(rf"Topic:\s*{re.escape(t)}\s", line) for t in topics) and "Partition:" in line)


# ------------------------------------------------------------------------------------- Redis
def redis_cli(port: int, *args: str, timeout: float = 10) -> str:
    return run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], timeout=timeout).stdout.strip()


def redis_nodes() -> list[dict]:
    """Connected nodes as the first answering node sees them: id, port, master, slots."""
    for port in REDIS_PORTS:
        try:
            text = redis_cli(port, "cluster", "nodes", timeout=5)
        except (DrillError, subprocess.TimeoutExpired):
            continue
        nodes = []
        for line in text.splitlines():
            f = line.split()
            if len(f) < 8 or "fail" in f[2] or f[7] != "connected":
                continue
            ranges = []
            for r in f[8:]:
                if r.startswith("["):
                    continue
                lo, _, hi = r.partition("-")
                ranges.append((int(lo), int(hi or lo)))
            nodes.append({"id": f[0], "port": int(f[1].split("@")[0].rsplit(":", 1)[1]),
                          "master": "master" in f[2], "slots": ranges})
        if nodes:
            return nodes
    raise DrillError("no Redis Cluster node answers")


def slot(key: str) -> int:
    """The key's hash slot (CRC16/XMODEM of the key or its {hash tag}, modulo 16384), as the
    cluster computes it, without asking it."""
    data = key.encode()
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1:end]
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


def master_of(key_slot: int) -> dict | None:
    return next((n for n in redis_nodes() if n["master"] and any(lo <= key_slot <= hi for lo, hi in n["slots"])),
                None)


def redis_get(key: str) -> str | None:
    """GET through any node, following MOVED (redis-cli -c): what the cluster holds."""
    for port in REDIS_PORTS:
        if infra.port_open(port):
            out = run(["redis-cli", "-c", "-h", "127.0.0.1", "-p", str(port), "GET", key], timeout=10,
                      check=False).stdout.strip()
            return out or None
    return None


def redis_delete_prefix(prefix: str) -> None:
    for node in redis_nodes():
        if not node["master"]:
            continue
        try:
            keys = run(["redis-cli", "-h", "127.0.0.1", "-p", str(node["port"]), "--scan", "--pattern",
                        f"{prefix}*"], timeout=60).stdout.split()
            # One command per key (keys of different slots cannot share one), all in one session.
            run(["redis-cli", "-h", "127.0.0.1", "-p", str(node["port"])], timeout=120,
                input_text="".join(f"UNLINK {key}\n" for key in keys))
        except (DrillError, subprocess.TimeoutExpired) as exc:
            log(f"could not clean Redis Cluster keys {prefix}* on {node['port']}: {exc}")


# ------------------------------------------------------------------------------------- replica
def replica_sql(sql: str) -> str:
    """One statement on the replica as the postgres superuser (replay control needs it)."""
    cp = subprocess.run(["su", "postgres", "-c", f'psql -p {REPLICA_PORT} -qAtX -c "{sql}"'], cwd="/",
                        capture_output=True, text=True, timeout=30)
    if cp.returncode != 0:
        raise DrillError(f"{sql} on the replica: {cp.stderr.strip()[-300:]}")
    return cp.stdout.strip()


def replica_caught_up(timeout: float = 60) -> bool:
    """Whether the replica replays everything the primary had written when asked."""
    target = kit.psql_scalar(POSTGRES.admin_db, "SELECT pg_current_wal_lsn()")
    return bool(infra.wait_until(
        lambda: replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t", timeout, 0.2))


# ------------------------------------------------------------------------------------- pipeline
class ClusterEnv(DrillEnv):
    """A drill pipeline on the clustered engines: the §10 settings, and nothing else, differ."""

    brokers = BROKERS

    def __init__(self, run_id: str, name: str, logdir) -> None:
        super().__init__(run_id, name, logdir)
        # Topics and group on the cluster; the keys live on the Redis Cluster (cleaned below).
        self.scratch = kit.Scratch(databases=[self.db], topics=[self.orders_topic, self.retry_topic, self.dlq_topic],
                                   groups=[self.group], brokers=BROKERS, replication=3, topic_configs=TOPIC_CONFIGS)

    def env(self, **extra: str) -> dict[str, str]:
        env = super().env(**extra)
        env.update({
            "KAFKA_BROKERS": BROKERS,
            "REDIS_CLUSTER_URLS": REDIS_URLS,
            "DATABASE_READ_URL": dataclasses.replace(POSTGRES, port=str(REPLICA_PORT)).url(self.db),
        })
        env.update(extra)
        return env

    def setup(self) -> None:
        super().setup()
        if not replica_caught_up():
            raise DrillError("the replica did not replay the new database within 60 s")

    def cleanup(self, keep: bool) -> None:
        super().cleanup(keep)
        if not keep:
            redis_delete_prefix(self.key_prefix)

    def query_metric(self, name: str, **labels: str) -> float:
        return infra.metric_sum(infra.scrape(self.admin_port), name, **labels)
