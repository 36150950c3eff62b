"""The one list of targets the benchmark and drill figures are judged against (docs/BENCHMARKS.md,
docs/DRILLS.md): each component benchmark prints its verdicts from here, bench/run.py judges its
table from here, and the drills take their thresholds from here, so a target changes in one place."""

from __future__ import annotations

from dataclasses import dataclass


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


def _at_least(key: str, bound: float, what: str) -> Target:
    return Target(key, bound, True, what)


def _at_most(key: str, bound: float, what: str) -> Target:
    return Target(key, bound, False, what)


TARGETS = {t.key: t for t in [
    _at_least("bench.store.batch1000_vs_copy", 0.5,
              "repository store_batch(1000) orders/s ÷ binary COPY of the same rows"),
    _at_least("bench.ingest.vs_copy", 0.8, "ingest end-to-end orders/s ÷ COPY of the rows it stored"),
    _at_most("bench.ingest.peak_rss_mb", 150, "ingest peak RSS (VmHWM), MB"),
    _at_least("bench.http.hot_vs_nginx_rps", 0.9, "query-api cache-hit req/s ÷ nginx serving the same bytes"),
    _at_most("bench.http.hot_vs_nginx_p99", 1.5, "query-api cache-hit p99 ÷ nginx p99"),
    _at_least("bench.http.deployed_vs_nginx_rps", 0.8,
              "query-api as shipped (info, JSON logs) req/s ÷ nginx with its access log"),
    _at_most("bench.http.deployed_vs_nginx_p99", 1.5, "query-api as shipped p99 ÷ nginx with its access log p99"),
    _at_least("bench.http.auth_vs_nginx_rps", 0.85, "query-api with an API key on every request req/s ÷ nginx"),
    _at_most("bench.http.auth_vs_nginx_p99", 1.5, "query-api with an API key p99 ÷ nginx p99"),
    _at_least("bench.http.scan_vs_nginx_rps", 0.9, "query-api scanning every uid req/s ÷ nginx, same scan"),
    _at_most("bench.http.scan_vs_nginx_p99", 1.5, "query-api scanning every uid p99 ÷ nginx p99"),
    _at_most("bench.http.cpu_vs_nginx", 1.0, "query-api server CPU per request ÷ nginx's, each pair"),
    _at_most("bench.http.peak_rss_mb", 60, "query-api peak RSS (VmHWM), MB"),
    _at_most("bench.http.differing_bodies", 0, "uids whose bodies differ between instances and nginx"),
    _at_least("bench.miss.vs_pgbench", 1.2,
              "query-api GET of an order in neither cache req/s ÷ pgbench's 4-table join per read, 16 clients"),
    _at_most("bench.freshness.p50_ms", 60, "producer send to query-api's first 200 for that order, p50, ms"),
    _at_most("bench.freshness.p99_ms", 250, "producer send to query-api's first 200 for that order, p99, ms"),
    _at_least("bench.producer.vs_java", 0.8, "producer-sim records/s ÷ Kafka ProducerPerformance"),
    _at_least("bench.producer.validate_lines_per_s", 50000,
              "producer-sim validate lines/s on one core, fixture-like orders"),
    _at_least("drills.after_fault_orders", 1000, "orders stored after a drill's fault ended"),
    _at_most("drills.probe_healthz_s", 1.0, "query-api /healthz answer time while slow clients hang on, s"),
]}


def target(key: str) -> Target:
    return TARGETS[key]


def group(prefix: str) -> list[Target]:
    """The targets of one benchmark or of the drills, e.g. group("bench.http")."""
    return [t for k, t in TARGETS.items() if k.startswith(prefix + ".")]
