"""The one list of targets the benchmark and drill figures are judged against (docs/BENCHMARKS.md,
docs/DRILLS.md), kept as data in targets.toml: each component benchmark prints its verdicts from
here, bench/run.py judges its table from here, and the drills take their thresholds from here, so
a target changes in one place."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    key: str  # "<group>.<name>", e.g. "bench.http.hot_vs_nginx_rps"
    bound: float
    higher_is_better: bool
    what: str

    def met(self, value: float) -> bool:
        return value >= self.bound if self.higher_is_better else value <= self.bound

    @property
    def text(self) -> str:
        return f"{'≥' if self.higher_is_better else '≤'} {self.bound:g}"

    @property
    def shell_name(self) -> str:
        return "TARGET_" + self.key.rsplit(".", 1)[1].upper()


def _load(path: Path) -> dict[str, Target]:
    """Flattens targets.toml's nested tables into "<group>.<name>" keys, in file order."""
    targets: dict[str, Target] = {}

    def walk(prefix: str, table: dict) -> None:
        for name, value in table.items():
            key = f"{prefix}.{name}" if prefix else name
            if "what" not in value:
                walk(key, value)
            elif ("at_least" in value) == ("at_most" in value):
                raise ValueError(f"{path}: {key} needs exactly one of at_least, at_most")
            else:
                higher = "at_least" in value
                bound = float(value["at_least" if higher else "at_most"])
                targets[key] = Target(key, bound, higher, value["what"])

    with path.open("rb") as f:
        walk("", tomllib.load(f))
    return targets


TARGETS = _load(Path(__file__).with_name("targets.toml"))


def target(key: str) -> Target:
    return TARGETS[key]


def group(prefix: str) -> list[Target]:
    """The targets of one benchmark or of the drills, e.g. group("bench.http")."""
    return [t for k, t in TARGETS.items() if k.startswith(prefix + ".")]
