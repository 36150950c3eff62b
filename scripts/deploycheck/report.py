"""Collects every problem instead of stopping at the first, so one run lists all of them; also the
small file helpers all checks share."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import yaml


@dataclass
class Report:
    root: str
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Metric names the dashboards and alert rules query (--metric-names writes them).
    metric_names: set[str] = field(default_factory=set)

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.root)

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def fail(self, where: str, msg: str) -> None:
        self.failures.append(f"{where}: {msg}")

    def note(self, msg: str) -> None:
        self.notes.append(msg)

    @staticmethod
    def section(title: str) -> None:
        print(f"==> {title}", file=sys.stderr, flush=True)

    @staticmethod
    def detail(text: str) -> None:
        print(f"    {text}", file=sys.stderr, flush=True)


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_yaml(path: str):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_all(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]
