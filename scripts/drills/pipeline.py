"""One drill's private pipeline: its own database, topics, consumer group, Redis key prefix and
loopback ports, the ingest / query-api / producer-sim processes running against them, and the
manifest of what producer-sim sent."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelinekit import resources as kit
from pipelinekit.services import BIN, BROKERS, POSTGRES, REDIS, free_port, run

from . import infra
from .infra import DrillError, Proc, log


def unescape(key: str) -> str:
    """Keys are written with `\\`, `\\t`, `\\n`, `\\r` escaped (TAB separates the fields)."""
    if "\\" not in key:
        return key
    out, i = [], 0
    while i < len(key):
        c = key[i]
        if c == "\\" and i + 1 < len(key):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(key[i + 1], key[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


@dataclass
class Manifest:
    """producer-sim's `--manifest`: one `seq<TAB>kind<TAB>key` line per record sent."""

    kinds: dict[int, str] = field(default_factory=dict)  # seq -> valid|invalid|malformed|duplicate
    keys: dict[int, str] = field(default_factory=dict)  # seq -> record key

    @classmethod
    def load(cls, path: Path) -> Manifest:
        m = cls()
        if not path.exists():
            raise DrillError(f"producer-sim wrote no manifest at {path}")
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0].isdigit():
                continue
            seq = int(parts[0])
            m.kinds[seq] = parts[1]
            m.keys[seq] = unescape(parts[2]) if len(parts) > 2 else ""
        return m

    @classmethod
    def from_topic(cls, topic: str, expected: int) -> Manifest:
        """The same, rebuilt from the records' `x-sim-seq` / `x-sim-kind` headers and keys (for a
        producer-sim without `--manifest`)."""
        m = cls()
        for _, _, headers, key in infra.dump_topic(topic, expected):
            if headers.get("x-sim-seq", "").isdigit():
                seq = int(headers["x-sim-seq"])
                m.kinds[seq] = headers.get("x-sim-kind", "?")
                m.keys[seq] = key
        return m

    def seqs(self, *kinds: str) -> list[int]:
        return [s for s, k in self.kinds.items() if k in kinds]

    @property
    def valid(self) -> dict[str, int]:
        """order_uid -> seq of every valid order (each must be stored exactly once)."""
        return {self.keys[s]: s for s in self.seqs("valid")}

    @property
    def poison(self) -> list[int]:
        return self.seqs("invalid", "malformed")

    @property
    def duplicates(self) -> list[int]:
        return self.seqs("duplicate")

    def __len__(self) -> int:
        return len(self.kinds)


@dataclass
class Stream:
    """What decides the records: the same values give the same records (producer-sim --seed)."""

    count: int
    rate: float
    seed: int
    invalid_ratio: float = 0.015
    duplicate_ratio: float = 0.02
    base_time: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def flags(self) -> list[str]:
        return ["--count", str(self.count), "--seed", str(self.seed), "--base-time", self.base_time,
                "--invalid-ratio", str(self.invalid_ratio), "--duplicate-ratio", str(self.duplicate_ratio)]

    @property
    def duration(self) -> float:
        return self.count / self.rate if self.rate else 0.0


_MANIFEST_FLAG: list[bool] = []


def manifest_supported() -> bool:
    """Whether this producer-sim has `--manifest` (else the manifest is rebuilt from the topic)."""
    if not _MANIFEST_FLAG:
        cp = run([str(BIN / "producer-sim"), "--help"], timeout=30, check=False)
        _MANIFEST_FLAG.append("--manifest" in cp.stdout)
    return _MANIFEST_FLAG[0]


class DrillEnv:
    brokers = infra.BROKERS  # the Kafka this pipeline runs on (the cluster drills' differs)

    def __init__(self, run_id: str, name: str, logdir: Path) -> None:
        self.name = name
        slug = name.replace("-", "_")
        self.db = f"drills_{run_id}_{slug}"
        base = f"drills.{run_id}.{name}"
        self.orders_topic, self.retry_topic, self.dlq_topic = base, f"{base}.retry", f"{base}.dlq"
        self.group = f"drills-{run_id}-{name}"
        self.key_prefix = f"drills:{run_id}:{name}:"
        self.scratch = kit.Scratch(databases=[self.db], topics=[self.orders_topic, self.retry_topic, self.dlq_topic],
                                   groups=[self.group], key_prefixes=[self.key_prefix])
        self.logdir = logdir
        self.http_port = free_port()
        self.admin_port = free_port()  # query-api's /metrics
        self.query_api_settings: dict[str, str] = {}  # a drill's own query-api settings
        self.ingest_ports: dict[str, int] = {}
        self.ingests: dict[str, Proc] = {}
        self.query_api: Proc | None = None
        self.producer: Proc | None = None
        self.events: list[str] = []  # unexpected things (a process that died by itself, ...)
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._restarts = 0
        logdir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------------------ configuration
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SIM_", "INGEST_", "NEAR_CACHE"))}
        env.update({
            "KAFKA_BROKERS": BROKERS,
            "ORDERS_TOPIC": self.orders_topic,
            "RETRY_TOPIC": self.retry_topic,
            "DLQ_TOPIC": self.dlq_topic,
            "KAFKA_GROUP": self.group,
            "DATABASE_URL": POSTGRES.url(self.db),
            "REDIS_URL": REDIS.url,
            "ORDER_CACHE_KEY_PREFIX": self.key_prefix,
            "ORDER_CACHE_TTL_SECS": "3600",
            "HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "ADMIN_ADDR": f"127.0.0.1:{self.admin_port}",
            # The drills test delivery and robustness; access control has its own tests.
            "AUTH_MODE": "off",
            "RUST_LOG": os.environ.get("DRILLS_RUST_LOG", "info"),
            "LOG_FORMAT": "text",
            "NO_COLOR": "1",
        })
        env.update(extra)
        return env

    def query_api_env(self) -> dict[str, str]:
        """query-api's environment (a drill may tune its read path apart from ingest's)."""
        return self.env(**self.query_api_settings)

    def cache_key(self, uid: str) -> str:
        return f"{self.key_prefix}order:{uid}"

    # ------------------------------------------------------------------------------ setup
    def setup(self) -> None:
        self.scratch.create()
        cp = run([str(BIN / "ingest"), "migrate", "up"], env=self.env(), timeout=120)
        (self.logdir / "migrate.log").write_text(cp.stdout + cp.stderr)

    def cleanup(self, keep: bool) -> None:
        self.stop_all()
        if keep:
            log(f"  kept for inspection (until the next run): database {self.db}, topics {self.orders_topic}*,"
                f" group {self.group}")
            return
        self.scratch.drop()

    # ------------------------------------------------------------------------------ processes
    def start_ingest(self, name: str = "i0", wait_ready: bool = True) -> Proc:
        port = self.ingest_ports.setdefault(name, free_port())
        proc = infra.PROCS.spawn(f"ingest-{name}", [str(BIN / "ingest"), "run"],
                                 self.env(METRICS_ADDR=f"127.0.0.1:{port}"),
                                 self.logdir / f"ingest-{name}.log", self.logdir)
        self.ingests[name] = proc
        if wait_ready:
            self.wait_ingest_ready(name, 60)
        return proc

    def wait_ingest_ready(self, name: str, timeout: float) -> None:
        port, proc = self.ingest_ports[name], self.ingests[name]

        def ready():
            if not proc.alive():
                raise DrillError(f"ingest {name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            return infra.http_status(port, "/readyz") == 200

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.2)
        raise DrillError(f"ingest {name} not ready within {timeout:.0f} s:\n{proc.tail()}")

    def ingest_metrics(self, name: str = "i0"):
        return infra.scrape(self.ingest_ports[name])

    def start_query_api(self) -> Proc:
        self.query_api = infra.PROCS.spawn("query-api", [str(BIN / "query-api")], self.query_api_env(),
                                           self.logdir / "query-api.log", self.logdir)
        if not infra.wait_until(lambda: infra.http_status(self.http_port, "/healthz") == 200, 30):
            raise DrillError(f"query-api did not answer /healthz:\n{self.query_api.tail()}")
        return self.query_api

    def start_producer(self, stream: Stream, manifest: Path) -> Proc:
        argv = [str(BIN / "producer-sim"), *stream.flags(), "--rate", str(stream.rate)]
        if manifest_supported():
            argv += ["--manifest", str(manifest)]
        self.manifest_path = manifest
        self.producer = infra.PROCS.spawn("producer-sim", argv, self.env(), self.logdir / "producer-sim.log",
                                          self.logdir)
        return self.producer

    def wait_producer(self, timeout: float) -> int:
        assert self.producer is not None
        try:
            rc = self.producer.popen.wait(timeout)
        except Exception as exc:  # noqa: BLE001
            raise DrillError(f"producer-sim did not finish within {timeout:.0f} s") from exc
        self.producer.expected_exit = True
        return rc

    def print_values(self, stream: Stream) -> dict[int, bytes]:
        """The records' values, regenerated with `producer-sim --print` and the same seed: what the
        read API must serve (valid orders) and what the DLQ must keep byte for byte (poison)."""
        out = self.logdir / "values.jsonl"
        argv = [str(BIN / "producer-sim"), *stream.flags(), "--rate", "0", "--print"]
        with open(out, "wb") as fh:
            cp = subprocess.run(argv, env=self.env(), stdout=fh, stderr=subprocess.PIPE, timeout=600)
        if cp.returncode != 0:
            raise DrillError(f"producer-sim --print failed: {cp.stderr.decode(errors='replace')[-500:]}")
        values = {}
        with open(out, "rb") as fh:
            for seq, line in enumerate(fh):  # --start-seq 0: line i is seq i
                values[seq] = line.rstrip(b"\n")
        return values

    def manifest(self) -> Manifest:
        if manifest_supported():
            return Manifest.load(self.manifest_path)
        return Manifest.from_topic(self.orders_topic, 10**9)

    def watch(self) -> None:
        """Restarts an ingest instance that exited without being told to (and notes it), so one
        crash does not hide everything else a drill would find."""

        def loop():
            while not self._watch_stop.wait(0.5):
                for name, proc in list(self.ingests.items()):
                    if not proc.alive() and not proc.expected_exit:
                        self.events.append(f"ingest {name} exited by itself with code {proc.popen.returncode}"
                                           f" at {time.strftime('%H:%M:%S')}; restarted (log {proc.log_path})")
                        log(f"  !! {self.events[-1]}")
                        proc.expected_exit = True
                        self._restarts += 1
                        try:
                            self.start_ingest(name, wait_ready=False)
                        except Exception as exc:  # noqa: BLE001
                            self.events.append(f"restart of ingest {name} failed: {exc}")
                if self.query_api and not self.query_api.alive() and not self.query_api.expected_exit:
                    self.events.append(f"query-api exited by itself with code {self.query_api.popen.returncode}")
                    log(f"  !! {self.events[-1]}")
                    self.query_api.expected_exit = True
                    try:
                        self.start_query_api()
                    except Exception as exc:  # noqa: BLE001
                        self.events.append(f"restart of query-api failed: {exc}")

        self._watcher = threading.Thread(target=loop, daemon=True)
        self._watcher.start()

    def stop_all(self) -> None:
        self._watch_stop.set()
        if self._watcher:
            self._watcher.join(5)
        for proc in [*self.ingests.values(), self.query_api, self.producer]:
            if proc is not None and proc.alive():
                proc.stop(30)

    # ------------------------------------------------------------------------------ state
    def stored_count(self) -> int:
        return int(kit.psql_scalar(self.db, "SELECT count(*) FROM orders"))

    def drain(self, expected_valid: int, timeout: float = 240) -> tuple[bool, int, dict]:
        """Waits until PostgreSQL holds every valid order and the group's lag is 0 (Kafka's own
        ConsumerGroupCommand and GetOffsetShell). Returns (drained, lag, lag detail)."""
        deadline = time.monotonic() + timeout
        last = -1
        stalled_since = time.monotonic()
        lag, detail = -1, {}
        while time.monotonic() < deadline:
            try:
                count = self.stored_count()
            except DrillError:
                count = -1
            if count != last:
                last = count
                stalled_since = time.monotonic()
            if count >= expected_valid or time.monotonic() - stalled_since > 30:
                lag, detail = infra.group_lag(self.group, [self.orders_topic, self.retry_topic], self.brokers)
                if lag == 0:
                    # Counted again: measuring the lag takes seconds (a JVM), and a consumer that
                    # was waiting for its assignment may have stored the rest meanwhile.
                    try:
                        count = self.stored_count()
                    except DrillError:
                        count = last
                    if count >= expected_valid:
                        return True, 0, detail
                    if count == last and time.monotonic() - stalled_since > 30:
                        return False, 0, detail  # consumed everything, yet orders are missing
            time.sleep(1.0)
        lag, detail = infra.group_lag(self.group, [self.orders_topic, self.retry_topic], self.brokers)
        return lag == 0 and last >= expected_valid, lag, detail

    def dlq_inspect(self) -> list[dict]:
        cp = run([str(BIN / "ingest"), "dlq", "inspect", "--json"], env=self.env(), timeout=300)
        (self.logdir / "dlq-inspect.stderr").write_text(cp.stderr)
        rows = []
        for line in cp.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
        return rows
