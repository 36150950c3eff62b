"""Creating and dropping the throw-away resources of a benchmark or drill run on the shared local
stack: databases (psql), Kafka topics and consumer groups (Kafka's own command-line tools from
the cached jars) and Redis key prefixes (redis-cli). Dropping never raises: it logs what it could
not remove, so a cleanup path always runs to its end."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .services import BROKERS, JARS, POSTGRES, REDIS, ROOT, KitError, log, run

# ------------------------------------------------------------------------------------- PostgreSQL


def psql(db: str, sql: str, timeout: float = 120) -> str:
    pg = POSTGRES
    cp = run(["psql", "-h", pg.host, "-p", pg.port, "-U", pg.user, "-d", db, "-X", "-q", "-A", "-t",
              "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql], env=pg.env(), timeout=timeout)
    return cp.stdout


def psql_rows(db: str, sql: str, timeout: float = 120) -> list[list[str]]:
    return [line.split("\t") for line in psql(db, sql, timeout).splitlines() if line]


def psql_scalar(db: str, sql: str, timeout: float = 30) -> str:
    return psql(db, sql, timeout).strip()


def create_database(db: str) -> None:
    psql(POSTGRES.admin_db, f'CREATE DATABASE "{db}"')


def drop_database(db: str) -> None:
    if db == POSTGRES.admin_db:
        # DATABASE_URL names the database being dropped: connecting to it would make the drop fail.
        log(f"not dropping {db}: it is the database DATABASE_URL connects to (set it to the server's own)")
        return
    # FORCE ends the database's sessions, but not an autovacuum worker on it (a superuser's
    # process): after a large load one often is, and it moves on within seconds. Try again then.
    deadline = time.monotonic() + 60
    while True:
        try:
            psql(POSTGRES.admin_db, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            return
        except KitError as exc:
            if "must be a member of the role" not in str(exc) or time.monotonic() > deadline:
                log(f"could not drop database {db}: {exc}")
                return
            time.sleep(1)


def list_databases(prefix: str) -> list[str]:
    out = psql(POSTGRES.admin_db, f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%'")
    return [line for line in out.splitlines() if line]


# ------------------------------------------------------------------------------------- Kafka
TOPIC_COMMAND = "org.apache.kafka.tools.TopicCommand"
GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


def kafka_tool(cls: str, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Runs one of Kafka's own command-line tools (independent of our code), tuned to start fast."""
    if not JARS.is_dir():
        raise KitError(f"no Kafka jars in {JARS}: run scripts/stack.sh up first")
    argv = ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms32m", "-Xmx512m",
            f"-Dlog4j2.configurationFile={ROOT / 'scripts' / 'kafka' / 'log4j2-tools.yaml'}",
            "-cp", f"{JARS}/*", cls, *args]
    return run(argv, timeout=timeout, check=check)


def create_topics(topics: list[str], partitions: int = 6, brokers: str = BROKERS, replication: int = 1,
                  configs: tuple[str, ...] = ()) -> None:
    """Creates the topics in parallel (one JVM each, so they start together); `configs` are
    `name=value` topic settings (e.g. min.insync.replicas=2 on a cluster)."""
    extra = [arg for c in configs for arg in ("--config", c)]

    def create(topic: str) -> None:
        kafka_tool(TOPIC_COMMAND, "--bootstrap-server", brokers, "--create", "--topic", topic,
                   "--partitions", str(partitions), "--replication-factor", str(replication), *extra)

    with ThreadPoolExecutor(max(1, len(topics))) as pool:
        errors = [f.exception() for f in [pool.submit(create, t) for t in topics]]
    errors = [e for e in errors if e]
    if errors:
        raise KitError(f"topic creation failed: {errors[0]}")


def delete_topics(pattern: str, brokers: str = BROKERS) -> None:
    """Deletes every topic whose whole name matches the (Java) regular expression."""
    try:
        kafka_tool(TOPIC_COMMAND, "--bootstrap-server", brokers, "--delete", "--if-exists", "--topic", pattern,
                   timeout=60)
    except KitError as exc:
        log(f"could not delete topics {pattern}: {exc}")


def exact(names: list[str]) -> str:
    """A regular expression matching exactly these names (for delete_topics)."""
    return "|".join(re.escape(n) for n in names)


def delete_group(group: str, brokers: str = BROKERS) -> None:
    try:
        kafka_tool(GROUP_COMMAND, "--bootstrap-server", brokers, "--delete", "--group", group, timeout=60,
                   check=False)
    except KitError as exc:
        log(f"could not delete consumer group {group}: {exc}")


# ------------------------------------------------------------------------------------- Redis
def redis_cli(*args: str, timeout: float = 10) -> str:
    return run(["redis-cli", "-h", REDIS.host, "-p", str(REDIS.port), *args], env=REDIS.env(),
               timeout=timeout).stdout.strip()


def redis_exists(key: str) -> bool:
    return redis_cli("EXISTS", key) == "1"


def redis_delete_prefix(prefix: str) -> None:
    try:
        keys = redis_cli("--scan", "--pattern", f"{prefix}*", timeout=60).split()
        for i in range(0, len(keys), 500):
            redis_cli("UNLINK", *keys[i:i + 500])
    except KitError as exc:
        log(f"could not clean Redis keys {prefix}*: {exc}")


# ------------------------------------------------------------------------------------- a run's set
@dataclass
class Scratch:
    """The throw-away resources of one run: created together, dropped together (all of them, even
    when some were never created or a drop fails)."""

    databases: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    key_prefixes: list[str] = field(default_factory=list)
    partitions: int = 6
    brokers: str = BROKERS  # the Kafka of the topics and groups (several brokers on a cluster)
    replication: int = 1
    topic_configs: tuple[str, ...] = ()

    def create(self) -> None:
        """Databases (empty: the caller migrates them) and topics; groups and keys appear on use."""
        for db in self.databases:
            create_database(db)
        if self.topics:
            create_topics(self.topics, self.partitions, self.brokers, self.replication, self.topic_configs)

    def drop(self) -> None:
        threads = [threading.Thread(target=drop_database, args=(db,)) for db in self.databases]
        if self.topics:
            threads.append(threading.Thread(target=delete_topics, args=(exact(self.topics), self.brokers)))
        threads += [threading.Thread(target=delete_group, args=(g, self.brokers)) for g in self.groups]
        for t in threads:
            t.start()
        for prefix in self.key_prefixes:
            redis_delete_prefix(prefix)
        for t in threads:
            t.join()
