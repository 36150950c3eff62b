"""The checks every drill ends with: nothing lost (PostgreSQL and the read API), nothing stored
twice, every poison record dead-lettered with the full contract header set, no lag, and the
pipeline stored orders after the fault."""

from __future__ import annotations

import json
import re
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from pipelinekit import resources as kit
from pipelinekit.targets import target

from . import infra
from .pipeline import DrillEnv, Manifest

DLQ_HEADERS = ["x-original-topic", "x-original-partition", "x-original-offset", "x-original-timestamp",
               "x-error-kind", "x-error-message", "x-attempts", "x-failed-at", "x-consumer-group"]
EXAMPLES = 5


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Result:
    drill: str
    orders: int = 0  # valid orders sent
    sent: int = 0  # records sent (all kinds)
    lost: int | None = None
    duplicates: int | None = None
    dlq_expected: int | None = None
    dlq_actual: int | None = None
    lag: int | None = None
    after_fault: int | None = None
    recovery_s: float | None = None
    duration_s: float = 0.0
    checks: list[Check] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    error: str | None = None

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        mark = "ok  " if ok else "FAIL"
        infra.log(f"  [{mark}] {name}{': ' + detail if detail else ''}")
        return ok

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks) and bool(self.checks)

    def to_json(self) -> dict:
        return {
            "drill": self.drill, "passed": self.passed, "orders": self.orders, "records_sent": self.sent,
            "lost": self.lost, "duplicates": self.duplicates, "dlq_expected": self.dlq_expected,
            "dlq_actual": self.dlq_actual, "lag": self.lag, "after_fault_orders": self.after_fault,
            "recovery_s": self.recovery_s, "duration_s": round(self.duration_s, 1), "error": self.error,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "info": self.info,
        }


# ----------------------------------------------------------------------------------- helpers
RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


@contextmanager
def running(name: str, env: DrillEnv, result: Result, keep_all: bool,
            before_cleanup: Callable[[], None] | None = None) -> Iterator[None]:
    """One drill's frame: an error inside is recorded (one drill's error must not stop the others),
    its resources are dropped unless it failed or `keep_all`, and its verdict is logged."""
    started = time.time()
    try:
        yield
    except Exception as exc:  # noqa: BLE001
        result.error = f"{type(exc).__name__}: {exc}"
        (env.logdir / "error.txt").write_text(traceback.format_exc())
        infra.log(f"  ERROR: {result.error}")
    finally:
        if before_cleanup:
            before_cleanup()
        env.cleanup(keep=keep_all or not result.passed)
        result.duration_s = time.time() - started
    infra.log(f"== {name}: {'PASS' if result.passed else 'FAIL'} in {result.duration_s:.0f} s")


def instant_ns(text: str) -> int | None:
    """An RFC 3339 time as integer nanoseconds since the epoch (exact, unlike float seconds)."""
    m = RFC3339.match(text) if isinstance(text, str) else None
    if not m:
        return None
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    seconds = int(datetime.fromisoformat(m.group(1) + zone).timestamp())
    frac = (m.group(2) or "").ljust(9, "0")
    return seconds * 1_000_000_000 + int(frac)


def same_order(served: dict, sent: dict) -> str | None:
    """None when the read API served the order that was sent (contract §1: same fields and values,
    key order as sent, date_created possibly re-rendered as the same instant); else what differs."""
    if list(served.keys()) != list(sent.keys()):
        return f"fields {list(served.keys())} != {list(sent.keys())}"
    for key in sent:
        a, b = served[key], sent[key]
        if key == "date_created":
            if instant_ns(a) is None or instant_ns(a) != instant_ns(b):
                return f"date_created {a!r} is not the instant {b!r}"
        elif a != b or json.dumps(a) != json.dumps(b):  # json.dumps also compares nested key order
            return f"{key}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"
    return None


# ----------------------------------------------------------------------------------- checks
def check_store(env: DrillEnv, manifest: Manifest, values: dict[int, bytes], result: Result) -> set[str]:
    """Every valid order stored exactly once with all its items; nothing else stored."""
    valid = manifest.valid
    rows = kit.psql_rows(env.db, """
        SELECT o.order_uid, o.item_count, coalesce(i.n, 0), coalesce(i.distinct_lines, 0)
        FROM orders o LEFT JOIN (SELECT order_uid, count(*) n, count(DISTINCT line_no) distinct_lines
                                 FROM items GROUP BY order_uid) i USING (order_uid)""", timeout=300)
    stored = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}
    dup_orders = len(rows) - len(stored)
    counts = kit.psql_rows(env.db, "SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM payments),"
                                     " (SELECT count(*) FROM orders)")[0]
    deliveries, payments, orders_rows = (int(x) for x in counts)
    missing = [uid for uid in valid if uid not in stored]
    extra = [uid for uid in stored if uid not in valid]
    item_bad, item_excess = [], 0
    for uid, (item_count, n, distinct_lines) in stored.items():
        seq = valid.get(uid)
        expected_items = None
        if seq is not None and seq in values:
            try:
                expected_items = len(json.loads(values[seq])["items"])
            except (ValueError, KeyError, TypeError):
                expected_items = None
        if expected_items is not None and n > expected_items:
            item_excess += n - expected_items
        if n != item_count or distinct_lines != n or (expected_items is not None and n != expected_items):
            item_bad.append(f"{uid}: item_count {item_count}, rows {n}, sent {expected_items}")
    result.lost = len(missing)
    result.duplicates = dup_orders + item_excess + max(0, deliveries - orders_rows) + max(0, payments - orders_rows)
    result.check("stored: every valid order is in PostgreSQL", not missing,
                 f"{len(valid) - len(missing)}/{len(valid)} stored"
                 + (f"; missing e.g. {missing[:EXAMPLES]}" if missing else ""))
    result.check("stored: nothing but the valid orders", not extra,
                 f"{len(extra)} unexpected" + (f", e.g. {extra[:EXAMPLES]}" if extra else ""))
    result.check("stored: no duplicate rows, one delivery and payment per order",
                 result.duplicates == 0 and deliveries == payments == orders_rows,
                 f"orders {orders_rows}, deliveries {deliveries}, payments {payments},"
                 f" duplicate rows {result.duplicates}")
    result.check("stored: items per order match what was sent", not item_bad,
                 f"{len(item_bad)} orders differ" + (f", e.g. {item_bad[:3]}" if item_bad else ""))
    return set(stored)


def check_reads(env: DrillEnv, manifest: Manifest, values: dict[int, bytes], result: Result,
                workers: int = 8) -> None:
    """GET /order/{uid} for every valid order: 200, JSON, the same order that was sent."""
    client = infra.Http(env.http_port, timeout=15)
    valid = manifest.valid

    def one(item):
        uid, seq = item
        try:
            status, headers, body = client.get(f"/order/{uid}")
        except Exception as exc:  # noqa: BLE001
            return uid, f"request failed: {exc}"
        if status != 200:
            return uid, f"status {status}: {body[:200]!r}"
        if not headers.get("content-type", "").startswith("application/json"):
            return uid, f"content-type {headers.get('content-type')!r}"
        if headers.get("x-cache") not in ("hit", "miss"):
            return uid, f"x-cache {headers.get('x-cache')!r}"
        try:
            served = json.loads(body)
        except ValueError:
            return uid, f"not JSON: {body[:120]!r}"
        if not isinstance(served, dict) or served.get("order_uid") != uid:
            return uid, f"order_uid {served.get('order_uid') if isinstance(served, dict) else served!r}"
        if seq in values:
            diff = same_order(served, json.loads(values[seq]))
            if diff:
                return uid, diff
        return uid, None

    with ThreadPoolExecutor(workers) as pool:
        failures = [(uid, why) for uid, why in pool.map(one, valid.items(), chunksize=64) if why]
    result.check("read API: GET /order/{uid} → 200 with the order as sent, for every valid order", not failures,
                 f"{len(valid) - len(failures)}/{len(valid)} ok" + (f"; e.g. {failures[:3]}" if failures else ""))
    if failures:
        result.lost = max(result.lost or 0, len(failures))


def header_map(row: dict) -> dict[str, list[str | None]]:
    headers: dict[str, list[str | None]] = {}
    for h in row.get("headers") or []:
        headers.setdefault(h.get("key"), []).append(h.get("value"))
    return headers


def dlq_problems(row: dict, env: DrillEnv, manifest: Manifest, values: dict[int, bytes]) -> list[str]:
    """What is wrong with one dead letter of an original (not replayed) poison record."""
    h = header_map(row)
    problems = []
    for name in DLQ_HEADERS:
        if len(h.get(name, [])) != 1 or not h[name][0]:
            problems.append(f"header {name} {'missing' if name not in h else repr(h[name])}")
    get = lambda name: (h.get(name) or [None])[-1]  # noqa: E731
    if get("x-original-topic") not in (env.orders_topic, None):
        problems.append(f"x-original-topic {get('x-original-topic')!r}")
    for name in ("x-original-partition", "x-original-offset", "x-original-timestamp", "x-attempts"):
        if get(name) is not None and not str(get(name)).isdigit():
            problems.append(f"{name} {get(name)!r} is not decimal")
    failed_at = get("x-failed-at")
    if failed_at is not None and (instant_ns(failed_at) is None or not failed_at.endswith(("Z", "+00:00"))):
        problems.append(f"x-failed-at {failed_at!r} is not RFC 3339 UTC")
    if get("x-consumer-group") not in (env.group, None):
        problems.append(f"x-consumer-group {get('x-consumer-group')!r}")
    seq = get("x-sim-seq")
    if seq is None or not seq.isdigit() or int(seq) not in manifest.kinds:
        problems.append(f"x-sim-seq {seq!r} (original header) is not a record of this run")
        return problems
    seq = int(seq)
    kind = manifest.kinds[seq]
    if kind not in ("invalid", "malformed"):
        problems.append(f"seq {seq} was sent as {kind}, not poison")
    elif get("x-error-kind") != kind:
        problems.append(f"seq {seq}: x-error-kind {get('x-error-kind')!r}, sent as {kind}")
    if kind == "invalid" and not get("x-error-message"):
        problems.append("invalid without a message naming the fields")
    if row.get("key") != manifest.keys.get(seq) and manifest.keys.get(seq):
        problems.append(f"key {row.get('key')!r} != sent {manifest.keys.get(seq)!r}")
    sent = values.get(seq)
    if sent is not None:
        if sent.startswith(b"base64:"):
            import base64
            sent_bytes = base64.b64decode(sent[7:])
        else:
            sent_bytes = sent
        got = row.get("value")
        got_bytes = got.encode() if isinstance(got, str) else bytes.fromhex(row.get("value_hex") or "")
        if got_bytes != sent_bytes:
            problems.append(f"value differs from the bytes sent ({len(got_bytes)} vs {len(sent_bytes)} bytes)")
    return problems


def check_dlq(env: DrillEnv, manifest: Manifest, values: dict[int, bytes], result: Result,
              exactly_once: bool) -> list[dict]:
    """Distinct dead letters (by original partition/offset) = poison sent, each complete; with
    `exactly_once` (no crash happened) no record was dead-lettered twice either."""
    rows = [r for r in env.dlq_inspect() if not r.get("replayed_from")]
    poison = set(manifest.poison)
    distinct: dict[tuple, dict] = {}
    for row in rows:
        distinct.setdefault((row.get("original_partition"), row.get("original_offset")), row)
    seqs = set()
    problems = []
    for row in distinct.values():
        p = dlq_problems(row, env, manifest, values)
        if p:
            problems.append(f"{row.get('partition')}/{row.get('offset')}: {'; '.join(p)}")
        seq = (header_map(row).get("x-sim-seq") or [None])[-1]
        if seq and seq.isdigit():
            seqs.add(int(seq))
    result.dlq_expected = len(poison)
    result.dlq_actual = len(distinct)
    result.info["dlq_records"] = len(rows)
    kinds: dict[str, int] = {}
    for row in distinct.values():
        kinds[row.get("kind")] = kinds.get(row.get("kind"), 0) + 1
    result.info["dlq_kinds"] = kinds
    missing = sorted(poison - seqs)
    result.check("DLQ: one distinct dead letter per poison record sent",
                 len(distinct) == len(poison) and not missing,
                 f"{len(distinct)} distinct for {len(poison)} poison sent"
                 + (f"; missing seqs {missing[:EXAMPLES]}" if missing else ""))
    result.check("DLQ: every dead letter has the complete contract headers, kind, key and value", not problems,
                 f"{len(problems)} with problems" + (f", e.g. {problems[:3]}" if problems else ""))
    if exactly_once:
        result.check("DLQ: nothing dead-lettered twice", len(rows) == len(distinct),
                     f"{len(rows)} records, {len(distinct)} distinct")
    return rows


def check_lag(env: DrillEnv, result: Result, drained: bool, lag: int, detail: dict) -> None:
    result.lag = lag
    behind = {k: v for k, v in detail.items() if v["lag"]}
    result.check("lag: consumer group fully caught up (Kafka's ConsumerGroupCommand)", drained and lag == 0,
                 f"lag {lag}" + (f"; behind: {dict(list(behind.items())[:6])}" if behind else ""))


def check_after_fault(env: DrillEnv, result: Result, fault_end: float, recovery_points: list[float]) -> None:
    goal = target("drills.after_fault_orders")
    result.after_fault = int(kit.psql_scalar(
        env.db, f"SELECT count(*) FROM orders WHERE stored_at > to_timestamp({fault_end:.6f})"))
    recoveries = []
    for point in recovery_points:
        first = kit.psql_scalar(
            env.db, "SELECT extract(epoch FROM min(stored_at)) FROM orders"
                    f" WHERE stored_at > to_timestamp({point:.6f})")
        if first:
            recoveries.append(float(first) - point)
    result.recovery_s = round(max(recoveries), 2) if recoveries and len(recoveries) == len(recovery_points) else None
    result.info["recovery_each_s"] = [round(r, 2) for r in recoveries]
    result.check(f"after the fault: {goal.text} orders stored", goal.met(result.after_fault),
                 f"{result.after_fault:,} stored after the fault ended; recovery {result.recovery_s} s")
