"""docs/SCALING.md's sizing tables, computed from a bench/capacity.sh measurement, so that new
measurements (a quiet machine, other hardware, a changed schema) give new tables mechanically.

    python3 bench/sizing.py CAPACITY.json     # markdown on stdout

The assumptions (utilization, retention, hit ratios, per-instance cores, per-node budgets) are
the constants below, each stated in the tables' notes; the measured inputs come from the file.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

UTILIZATION = 0.6  # plan every process at 60 % busy: headroom for bursts and a lost instance
INSTANCE_CORES = 1  # k8s/base: ingest and query-api are limited to 1 CPU each
MIN_INSTANCES = 2  # any fewer and one restart is an outage
KAFKA_RF = 3
KAFKA_RETENTION_DAYS = 3  # PostgreSQL is the system of record: Kafka keeps a replay window
KAFKA_BROKER_DISK_TB = 4.0  # usable log space per broker
KAFKA_BROKER_WRITE_MBS = 150.0  # sustained replicated writes one broker takes comfortably
REDIS_SHARD_GB = 25.0  # data per master (room to fork for replication and resharding)
REDIS_SHARD_CORE_SHARE = 0.6  # Redis runs commands on one thread
CACHE_HOURS = (24.0, 1.0)  # ORDER_CACHE_TTL_SECS today (24 h) and a TTL matched to recent reads
WRITE_RATES = (1_000, 10_000, 100_000)
READ_RATE = 1_000_000
READ_MIX = {"memory": 0.50, "redis": 0.45, "postgres": 0.05}  # where reads are answered


def ceil(x: float) -> int:
    return max(1, math.ceil(x - 1e-9))


def fmt_bytes(n: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def writes(m: dict) -> list[str]:
    cpu = m["ingest_cpu_us_per_order"]
    rows = ["| orders/s | ingest instances (cores) | partitions | Kafka in, RF 3 | Kafka brokers "
            f"({KAFKA_RETENTION_DAYS} d) | PostgreSQL CPU | WAL | PostgreSQL growth/day | Redis at 24 h TTL "
            "| Redis at 1 h TTL |", "|" + "---|" * 10]
    for rate in WRITE_RATES:
        ingest_cores = rate * cpu["ingest"] / 1e6 / UTILIZATION
        instances = max(MIN_INSTANCES, ceil(ingest_cores / INSTANCE_CORES))
        # Twice the instances, rounded up to a multiple of 6: room to double without repartitioning.
        partitions = 6 * ceil(2 * instances / 6)
        kafka_in = rate * m["kafka_bytes_per_order"]
        stored = kafka_in * KAFKA_RF * KAFKA_RETENTION_DAYS * 86_400
        brokers = max(3, ceil(stored / (KAFKA_BROKER_DISK_TB * 1e12)),
                      ceil(kafka_in * KAFKA_RF / (KAFKA_BROKER_WRITE_MBS * 1e6)))
        pg_cores = rate * cpu["postgres"] / 1e6 / UTILIZATION
        redis = [rate * hours * 3600 * m["redis_bytes_per_order"] for hours in CACHE_HOURS]
        shards = [max(3, ceil(b / (REDIS_SHARD_GB * 1e9))) for b in redis]
        rows.append(
            f"| {rate:,} | {instances} ({ingest_cores:.1f}) | {partitions} | {fmt_bytes(kafka_in)}/s × 3 | "
            f"{brokers} ({fmt_bytes(stored)}) | {pg_cores:.1f} cores | "
            f"{fmt_bytes(rate * m['wal_bytes_per_order'])}/s | {fmt_bytes(rate * 86_400 * m['pg_total_per_order'])} | "
            f"{fmt_bytes(redis[0])}, {shards[0]} shards | {fmt_bytes(redis[1])}, {shards[1]} shards |")
    return rows


def reads(m: dict) -> list[str]:
    r = m["reads"]
    rows = ["| answered from | share | reads/s | query-api cores | server cores |", "|---|---|---|---|---|"]
    total_api = 0.0
    for mode, share in READ_MIX.items():
        n = READ_RATE * share
        api = n * r[mode]["cpu_us_per_read"]["query-api"] / 1e6 / UTILIZATION
        total_api += api
        server = {"memory": "–",
                  "redis": f"Redis {n * r['redis']['cpu_us_per_read']['redis'] / 1e6 / REDIS_SHARD_CORE_SHARE:.1f}",
                  "postgres": f"PostgreSQL {n * r['postgres']['cpu_us_per_read']['postgres'] / 1e6 / UTILIZATION:.1f}"
                  }[mode]
        rows.append(f"| {mode} | {share:.0%} | {n:,.0f} | {api:.1f} | {server} |")
    instances = max(MIN_INSTANCES, ceil(total_api / INSTANCE_CORES))
    rows.append(f"| **total** | 100 % | {READ_RATE:,} | **{total_api:.1f} → {instances} instances** | |")
    return rows


def inputs(m: dict) -> list[str]:
    c, pc = m["ingest_cpu_us_per_order"], m["per_core"]
    rr = m["reads"]
    return [
        "| input | measured | one core handles |", "|---|---|---|",
        f"| ingest CPU per order | {c['ingest']} µs | {pc['ingest_orders_per_s']:,} orders/s |",
        f"| PostgreSQL CPU per order stored | {c['postgres']} µs | {pc['postgres_orders_per_s']:,} orders/s |",
        f"| Redis CPU per order written | {c['redis']} µs | {pc['redis_order_writes_per_s']:,} writes/s |",
        f"| producer-sim CPU per record | {m['producer_cpu_us_per_order']} µs | "
        f"{pc['producer_sim_records_per_s']:,} records/s |",
        f"| query-api CPU per read, process cache | {rr['memory']['cpu_us_per_read']['query-api']} µs | "
        f"{pc['query_api_reads_per_s_memory']:,} reads/s |",
        f"| query-api CPU per read, Redis | {rr['redis']['cpu_us_per_read']['query-api']} µs | "
        f"{pc['query_api_reads_per_s_redis']:,} reads/s |",
        f"| query-api CPU per read, PostgreSQL | {rr['postgres']['cpu_us_per_read']['query-api']} µs | "
        f"{pc['query_api_reads_per_s_postgres']:,} reads/s |",
        f"| Redis CPU per read | {rr['redis']['cpu_us_per_read']['redis']} µs | {pc['redis_reads_per_s']:,} reads/s |",
        f"| PostgreSQL CPU per read | {rr['postgres']['cpu_us_per_read']['postgres']} µs | "
        f"{pc['postgres_reads_per_s']:,} reads/s |",
        f"| Kafka, bytes per order (lz4 batches, one replica) | {m['kafka_bytes_per_order']:,} B | |",
        f"| PostgreSQL, bytes per order (4 tables with indexes) | {m['pg_total_per_order']:,} B | |",
        f"| PostgreSQL, WAL bytes per order | {m['wal_bytes_per_order']:,} B | |",
        f"| Redis, bytes per cached order (`MEMORY USAGE`; JSON {m['json_bytes_per_order']:,} B) | "
        f"{m['redis_bytes_per_order']:,} B | |",
    ]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    m = json.loads(Path(sys.argv[1]).read_text())
    for title, rows in (("Measured inputs", inputs(m)), ("Write path", writes(m)),
                        (f"{READ_RATE:,} reads/s", reads(m))):
        print(f"### {title}\n")
        print("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
