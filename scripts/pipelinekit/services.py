"""Where the local stack's services and the project's caches are, from the same environment
variables the binaries read (contract defaults otherwise), and the one way to run a command that
may fail: KitError with the tail of its stderr, never its arguments' secrets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ORDERS_CACHE", Path.home() / ".cache" / "order-pipeline"))
JARS = CACHE / "kafka-jars"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
BIN = TARGET / "release"


class KitError(Exception):
    """A service command failed (a setup step, not a failed check)."""


def log(msg: str) -> None:
    print(f"[pipelinekit {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Postgres:
    host: str
    port: str
    user: str
    password: str
    admin_db: str  # the database to connect to for CREATE/DROP DATABASE

    @classmethod
    def from_url(cls, url: str) -> Postgres:
        u = urlsplit(url)
        return cls(u.hostname or "localhost", str(u.port or 5432), unquote(u.username or "orders"),
                   unquote(u.password or ""), (u.path or "/orders").lstrip("/") or "orders")

    def url(self, db: str) -> str:
        """The URL of database `db` on this server (what DATABASE_URL of a child process gets)."""
        auth = f"{self.user}:{self.password}@" if self.password else f"{self.user}@"
        return f"postgres://{auth}{self.host}:{self.port}/{db}"

    def env(self) -> dict[str, str]:
        """The environment for psql: the password travels here, not on the command line."""
        env = dict(os.environ)
        env.pop("PGDATABASE", None)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


@dataclass(frozen=True)
class Redis:
    host: str
    port: int
    password: str

    @classmethod
    def from_url(cls, url: str) -> Redis:
        u = urlsplit(url)
        return cls(u.hostname or "127.0.0.1", u.port or 6379, unquote(u.password or ""))

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}" if self.password else \
            f"redis://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        return env


POSTGRES = Postgres.from_url(os.environ.get("DATABASE_URL", "postgres://orders:orders@localhost:5432/orders"))
REDIS = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
BROKERS = os.environ.get("KAFKA_BROKERS", "localhost:9092")


def run(argv: list[str], env: dict | None = None, timeout: float = 120, check: bool = True,
        input_text: str | None = None) -> subprocess.CompletedProcess:
    try:
        cp = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, input=input_text,
                            stdin=None if input_text is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise KitError(f"{' '.join(argv[:4])} ... timed out after {timeout:.0f} s") from exc
    if check and cp.returncode != 0:
        raise KitError(f"{' '.join(argv[:4])} ... exited {cp.returncode}: {cp.stderr.strip()[-800:]}")
    return cp


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
