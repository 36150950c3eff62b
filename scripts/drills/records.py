"""Records the hardening drills write themselves: near-1 MiB valid orders (up to 1,000 items) made
from producer-sim's own orders, and records with forged retry headers, produced with Kafka's
ConsoleProducer (independent of our code)."""

from __future__ import annotations

import json
import random
import string
import subprocess
import tempfile
from pathlib import Path

from pipelinekit.services import BIN, BROKERS, JARS, ROOT, run

from .infra import DrillError

CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
ONE_MIB = 1024 * 1024


def valid_orders(env, count: int, seed: int) -> list[dict]:
    """`count` valid orders from `producer-sim --print` (seeded, no poison, no re-sends)."""
    argv = [str(BIN / "producer-sim"), "--count", str(count), "--seed", str(seed), "--rate", "0",
            "--invalid-ratio", "0", "--duplicate-ratio", "0", "--print"]
    cp = run(argv, env=env.env(), timeout=300)
    orders = [json.loads(line) for line in cp.stdout.splitlines() if line.startswith("{")]
    if len(orders) != count:
        raise DrillError(f"producer-sim --print gave {len(orders)} orders, not {count}")
    return orders


def inflate(order: dict, target_bytes: int, items: int = 1000) -> bytes:
    """`order` grown to `items` items with long names so its JSON is just under `target_bytes`,
    its totals fixed so it stays valid (goods_total = sum of total_price, amount adds up)."""
    template = dict(order["items"][0])
    template["track_number"] = order["track_number"]
    base = len(json.dumps({**order, "items": []}, separators=(",", ":")).encode())
    per_item = len(json.dumps({**template, "name": ""}, separators=(",", ":")).encode()) + 1
    name_len = max(1, (target_bytes - base) // items - per_item - 8)
    grown = []
    # Seeded letters, which compress about as badly as real product names do.
    rng = random.Random(order["order_uid"])
    for line in range(items):
        item = dict(template)
        words = "".join(rng.choice(string.ascii_lowercase) if i % 8 else " " for i in range(name_len))
        item["name"] = f"Item {line:04d}{words}"[:name_len]
        item["rid"] = f"{template['rid'][:40]}{line:04d}"
        item["total_price"] = item["price"] * (100 - item["sale"]) // 100
        grown.append(item)
    order = {**order, "items": grown}
    payment = dict(order["payment"])
    payment["goods_total"] = sum(i["total_price"] for i in grown)
    payment["amount"] = payment["goods_total"] + payment["delivery_cost"] + payment["custom_fee"]
    order["payment"] = payment
    value = json.dumps(order, separators=(",", ":"), ensure_ascii=False).encode()
    if len(value) > target_bytes or len(value) > ONE_MIB:
        raise DrillError(f"inflated order is {len(value)} bytes, over {target_bytes}")
    return value


def produce(topic: str, records: list[tuple[dict[str, str], str, bytes]], logdir: Path) -> None:
    """Writes `(headers, key, value)` records with ConsoleProducer, acks=all, one line each."""
    lines = []
    for headers, key, value in records:
        if any(c in value for c in b"\t\n") or any(c in key for c in "\t\n,:"):
            raise DrillError("record would break ConsoleProducer's line format")
        head = ",".join(f"{k}:{v}" for k, v in headers.items())
        lines.append(head.encode() + b"\t" + key.encode() + b"\t" + value)
    with tempfile.NamedTemporaryFile("wb", dir=logdir, prefix="records-", suffix=".txt", delete=False) as fh:
        fh.write(b"\n".join(lines) + b"\n")
        path = fh.name
    argv = ["--bootstrap-server", BROKERS, "--topic", topic,
            "--property", "parse.headers=true", "--property", "parse.key=true",
            "--producer-property", "acks=all", "--producer-property", "max.request.size=4194304",
            "--producer-property", "linger.ms=5"]
    # Not pipelinekit's kafka_tool, which gives its tools no stdin: ConsoleProducer reads the
    # records there, as bytes (a few hundred MiB for the big-orders backlog).
    log4j = ROOT / "scripts" / "kafka" / "log4j2-tools.yaml"
    java = ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms64m", "-Xmx1g",
            f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{JARS}/*", CONSOLE_PRODUCER]
    with open(path, "rb") as stdin:
        try:
            cp = subprocess.run([*java, *argv], stdin=stdin, capture_output=True, timeout=900)
        except subprocess.TimeoutExpired as exc:
            raise DrillError(f"ConsoleProducer to {topic} timed out after 900 s") from exc
        finally:
            Path(path).unlink(missing_ok=True)
    if cp.returncode != 0:
        raise DrillError(f"ConsoleProducer failed: {cp.stderr.decode(errors='replace')[-600:]}")


def vm_hwm_kib(pid: int) -> int | None:
    """The peak resident set size of a live process (VmHWM), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
