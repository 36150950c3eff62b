"""Reads through query-api in the background while a drill's fault is on, as users would: the
outage and cluster drills check what those reads got (status, x-cache) rather than sampling once."""

from __future__ import annotations

import threading
from collections import Counter

from pipelinekit import resources as kit

from . import infra
from .infra import DrillError
from .pipeline import DrillEnv

NEWEST = "SELECT order_uid FROM orders ORDER BY stored_at DESC LIMIT 6"
# Stored a moment ago, so ingest has written them to Redis too.
SETTLED = ("SELECT order_uid FROM orders WHERE stored_at < now() - interval '1 second' "
           "ORDER BY stored_at DESC LIMIT 6")


class Reader:
    """Reads recently stored orders through query-api in the background, as users would,
    counting statuses and x-cache values (also per `group(uid)`), and the uids it asked for."""

    def __init__(self, env: DrillEnv, sql: str = NEWEST, group=None) -> None:
        self.env, self.sql, self.group = env, sql, group
        self.statuses: Counter = Counter()
        self.cache: Counter = Counter()
        self.by_group: Counter = Counter()  # (group, x-cache) -> reads
        self.asked: set[str] = set()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _loop(self) -> None:
        client = infra.Http(self.env.http_port, timeout=10)
        while not self._stop.is_set():
            try:
                uids = [r[0] for r in kit.psql_rows(self.env.db, self.sql)]
            except DrillError:
                uids = []
            for uid in uids:
                try:
                    status, headers, body = client.get(f"/order/{uid}")
                except Exception as exc:  # noqa: BLE001
                    status, headers, body = None, {}, str(exc).encode()
                self.statuses[str(status)] += 1
                self.cache[headers.get("x-cache")] += 1
                if self.group:
                    self.by_group[(self.group(uid), headers.get("x-cache"))] += 1
                self.asked.add(uid)
                if status != 200 and len(self.failures) < 3:
                    self.failures.append(f"{uid}: {status} {body[:120]!r}")
            self._stop.wait(0.2)

    def all_ok(self) -> tuple[bool, str]:
        n = sum(self.statuses.values())
        detail = f"{dict(self.statuses)} of {n} reads, x-cache {dict(self.cache)}"
        return n > 0 and self.statuses["200"] == n, detail + (f"; {self.failures}" if self.failures else "")
