"""Stack-level helpers only the drills need: child processes, stopping and restarting the shared
services, Kafka's group and offset tools read back, HTTP with keep-alive and Prometheus text
parsing. Creating and dropping databases, topics and key prefixes is the shared layer's
(scripts/pipelinekit), the same one bench/ uses. Standard library only; loopback addresses only.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelinekit.resources import GROUP_COMMAND, kafka_tool
from pipelinekit.services import BROKERS, ROOT, KitError, run

STATE = ROOT / ".stack" / "drills"
# A setup step failed (not a failed check): the drill is reported as an error.
DrillError = KitError


def log(msg: str) -> None:
    print(f"[drills {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(pred, timeout: float, interval: float = 0.25, what: str = "condition"):
    """Polls `pred` until it returns a truthy value (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = pred()
        except Exception:  # noqa: BLE001 - a failing probe is "not yet"
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# ------------------------------------------------------------------------------------- processes
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path
    started: float = field(default_factory=time.time)
    expected_exit: bool = False  # set before we stop or kill it on purpose

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        self.expected_exit = True
        if self.alive():
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code (None if it was killed)."""
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
            return None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    """Every child we start, so that one exit path can stop them all (by pid, never by name)."""

    def __init__(self) -> None:
        self._procs: list[Proc] = []
        self._lock = threading.Lock()

    def spawn(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> Proc:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab", buffering=0)
        popen = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the runner, which stops them
        )
        out.close()
        proc = Proc(name, popen, log_path)
        with self._lock:
            self._procs.append(proc)
        return proc

    def stop_all(self) -> None:
        with self._lock:
            procs = [p for p in self._procs if p.alive()]
        for p in procs:
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in procs:
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.signal(signal.SIGKILL)
                try:
                    p.popen.wait(5)
                except subprocess.TimeoutExpired:
                    pass


PROCS = Processes()


# ------------------------------------------------------------------------------------- services
# A service the drills stopped is marked so that scripts/drills.sh's trap restarts it even if
# this runner dies without running its finally blocks.
def stack(action: str, service: str) -> float:
    """`scripts/stack.sh stop|start|kill SERVICE`; returns the time it returned."""
    STATE.mkdir(parents=True, exist_ok=True)
    marker = STATE / f"stopped.{service}"
    if action in ("stop", "kill"):
        marker.touch()
    run([str(ROOT / "scripts" / "stack.sh"), action, service], timeout=300)
    if action == "start":
        marker.unlink(missing_ok=True)
    return time.time()


def restore_services() -> None:
    """Starts every service the drills stopped and did not start again."""
    for marker in sorted(STATE.glob("stopped.*")):
        service = marker.name.split(".", 1)[1]
        log(f"restarting {service} (stopped by a drill)")
        try:
            stack("start", service)
        except Exception as exc:  # noqa: BLE001
            log(f"WARNING: could not restart {service}: {exc}")


# ------------------------------------------------------------------------------------- Kafka, read back
OFFSET_SHELL = "org.apache.kafka.tools.GetOffsetShell"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"


def end_offsets_many(topics: list[str], brokers: str = BROKERS) -> dict[str, dict[int, int]]:
    """End offsets per partition of each topic, from Kafka's GetOffsetShell (one JVM for all)."""
    pattern = "|".join(re.escape(t) for t in topics)
    cp = kafka_tool(OFFSET_SHELL, "--bootstrap-server", brokers, "--topic", f"^({pattern})$", timeout=60)
    result: dict[str, dict[int, int]] = {t: {} for t in topics}
    for line in cp.stdout.splitlines():
        parts = line.strip().rsplit(":", 2)
        if len(parts) == 3 and parts[0] in result:
            result[parts[0]][int(parts[1])] = int(parts[2])
    empty = [t for t, offsets in result.items() if not offsets]
    if empty:
        raise DrillError(f"GetOffsetShell returned no partitions for {empty}: {cp.stdout!r} {cp.stderr[-300:]!r}")
    return result


def end_offsets(topic: str) -> dict[int, int]:
    return end_offsets_many([topic])[topic]


def group_table(group: str, *flags: str, missing: int, brokers: str = BROKERS) -> tuple[list[dict[str, str]], str]:
    """The rows of `kafka-consumer-groups --describe [flags] --group group` as dicts keyed by the
    table header, skipping rows that lack more than `missing` columns, and the raw output."""
    cp = kafka_tool(GROUP_COMMAND, "--bootstrap-server", brokers, "--describe", *flags, "--group", group,
                    timeout=60, check=False)
    rows, header = [], None
    for line in cp.stdout.splitlines():
        cols = line.split()
        if not cols:
            continue
        if cols[0] == "GROUP":
            header = cols
            continue
        if header and len(cols) >= len(header) - missing:
            rows.append(dict(zip(header, cols, strict=False)))  # trailing columns may be empty
    return rows, cp.stdout + cp.stderr


def describe_group(group: str, brokers: str = BROKERS) -> tuple[dict[tuple[str, int], int | None], str]:
    """Committed offsets of `group` per (topic, partition), from Kafka's ConsumerGroupCommand."""
    # Kafka leaves CONSUMER-ID, HOST and CLIENT-ID empty for partitions no member holds.
    rows, output = group_table(group, missing=3, brokers=brokers)
    committed: dict[tuple[str, int], int | None] = {}
    for row in rows:
        try:
            key = (row["TOPIC"], int(row["PARTITION"]))
        except (KeyError, ValueError):
            continue
        cur = row.get("CURRENT-OFFSET", "-")
        committed[key] = int(cur) if cur.isdigit() else None
    return committed, output


def group_members(group: str) -> list[dict[str, str]]:
    # The last column (CLIENT-ID) may be empty.
    rows, _ = group_table(group, "--members", missing=1)
    return rows


def group_lag(group: str, topics: list[str], brokers: str = BROKERS) -> tuple[int, dict]:
    """Records not yet committed by `group` in `topics`: end offset minus committed offset, summed
    over every partition (a partition the group never committed counts in full)."""
    holder: dict = {}
    describer = threading.Thread(target=lambda: holder.update(committed=describe_group(group, brokers)[0]))
    describer.start()
    ends = end_offsets_many(topics, brokers)
    describer.join()
    committed = holder.get("committed", {})
    total, detail = 0, {}
    for topic in topics:
        for partition, end in ends[topic].items():
            cur = committed.get((topic, partition))
            lag = end - (cur if cur is not None else 0)
            detail[f"{topic}/{partition}"] = {"end": end, "committed": cur, "lag": lag}
            total += max(lag, 0)
    return total, detail


def dump_topic(topic: str, expected: int, timeout_ms: int = 15000) -> list[tuple[int, int, dict[str, str], str]]:
    """(partition, offset, headers, key) of every record, read with Kafka's ConsoleConsumer."""
    cp = kafka_tool(CONSOLE_CONSUMER, "--bootstrap-server", BROKERS, "--topic", topic, "--from-beginning",
                    "--max-messages", str(max(expected, 1)), "--timeout-ms", str(timeout_ms),
                    "--property", "print.partition=true", "--property", "print.offset=true",
                    "--property", "print.headers=true", "--property", "print.value=false",
                    "--property", "print.key=true",
                    "--consumer-property", "max.partition.fetch.bytes=8388608",
                    "--consumer-property", "fetch.max.bytes=67108864",
                    timeout=300, check=False)
    records = []
    for line in cp.stdout.splitlines():
        fields = line.split("\t", 3)
        if len(fields) < 3 or not fields[0].startswith("Partition:") or not fields[1].startswith("Offset:"):
            continue
        headers = {}
        for item in fields[2].split(","):
            if ":" in item:
                k, v = item.split(":", 1)
                headers[k.strip()] = v.strip()
        key = fields[3] if len(fields) > 3 else ""
        records.append((int(fields[0][10:]), int(fields[1][7:]), headers, key))
    return records


# ------------------------------------------------------------------------------------- HTTP
class Http:
    """A keep-alive HTTP/1.1 client per thread for one loopback port."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port = port
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            conn = self._conn()
            try:
                conn.request("GET", path, headers=headers or {})
                resp = conn.getresponse()
                body = resp.read()
                hdrs = {k.lower(): v for k, v in resp.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    conn.close()
                    self._local.conn = None
                return resp.status, hdrs, body
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


def http_status(port: int, path: str, timeout: float = 3.0) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except (http.client.HTTPException, OSError):
        return None


METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> list[tuple[str, dict[str, str], float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    samples = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = METRIC_RE.match(line)
        if m:
            labels = dict(LABEL_RE.findall(m.group(2) or ""))
            try:
                samples.append((m.group(1), labels, float(m.group(3))))
            except ValueError:
                pass
    return samples


def metric_sum(samples, name: str, **labels: str) -> float:
    return sum(v for n, lb, v in samples if n == name and all(lb.get(k) == x for k, x in labels.items()))
