#!/usr/bin/env python3
"""One benchmark command: runs every component benchmark next to its same-run reference and
prints one table (figure, ours, reference, ratio, target, verdict), also written as JSON to
bench/results/<timestamp>.json so runs can be compared.

Each component script prints a `BENCH_JSON {...}` line; this runner only reads those lines, so
each benchmark stays runnable on its own. Benchmarks are not tests: the verdicts are printed,
never turned into a failing exit code (a failing *script* does fail the run).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.dont_write_bytecode = True  # no __pycache__ in the checkout

from pipelinekit.targets import Target, target  # noqa: E402 - needs the path above

QUICK = False  # --quick, set in __main__
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def cpu_times():
    """The machine's CPU time so far, in ticks: (total, idle + iowait, steal). Steal is time the
    hypervisor gave this virtual machine's CPUs to someone else: a run with much of it measured
    a slower machine than the figures' references usually share."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return sum(values), values[3] + values[4], values[7] if len(values) > 7 else 0


def steal_share(before, after):
    """The share of CPU time stolen between two `cpu_times()` samples."""
    return (after[2] - before[2]) / max(after[0] - before[0], 1)


def cpu_busy(seconds=3.0):
    """The share of the machine's CPU time that was not idle (or waiting on I/O) over `seconds`."""
    total, idle, _ = cpu_times()
    time.sleep(seconds)
    total2, idle2, _ = cpu_times()
    return 1 - (idle2 - idle) / max(total2 - total, 1)


def settle(name, busy_below=0.15, longest=180):
    """Waits until what the previous benchmark left behind has finished (PostgreSQL's checkpoint
    and autovacuum after a large load, a database drop, the broker's log flush): a benchmark
    started while the machine is still busy measures that work too (the freshness tail did)."""
    started = time.monotonic()
    busy = cpu_busy()
    while busy >= busy_below and time.monotonic() - started < longest:
        busy = cpu_busy()
    print(f"=== {name}: machine {busy:.0%} busy after waiting {time.monotonic() - started:.0f} s",
          flush=True)


def run_bench(name, command, env=None):
    """Runs one benchmark script, streaming its output, and returns its BENCH_JSON object."""
    settle(name, longest=20 if QUICK else 180)
    print(f"\n=== {name}: {' '.join(command)}", flush=True)
    started, cpu_before = time.monotonic(), cpu_times()
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, text=True)
    found = None
    for line in proc.stdout:
        sys.stdout.write(line)
        if line.startswith("BENCH_JSON "):
            found = json.loads(line[len("BENCH_JSON "):])
    code = proc.wait()
    steal = steal_share(cpu_before, cpu_times())
    print(f"=== {name}: exit {code} after {time.monotonic() - started:.0f} s, CPU steal {steal:.1%}", flush=True)
    if code != 0 or found is None:
        raise SystemExit(f"benchmark {name} failed (exit {code}, figures {'found' if found else 'missing'})")
    found["cpu_steal_pct"] = round(steal * 100, 1)
    return found


def peak_rss_mb(command):
    """Peak resident memory of a command, from the kernel's accounting of the child."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed while measuring its memory")
    return usage.ru_maxrss / 1024.0


def row(figure, unit, ours, reference=None, reference_is="", goal: Target | None = None, ratio=None):
    """One line of the table; `goal` judges the ratio when there is a reference, else `ours`.
    `ratio` is the benchmark's own when it pairs rounds (the median of the rounds' ratios, which
    the medians of each side need not reproduce); otherwise ours / reference."""
    if ratio is None and reference:
        ratio = ours / reference
    verdict = "-"
    if goal is not None:
        verdict = "pass" if goal.met(ratio if reference else ours) else "FAIL"
    return {"figure": figure, "unit": unit, "ours": ours, "reference": reference,
            "reference_is": reference_is, "ratio": ratio,
            "target": goal.bound if goal else None, "target_is": goal.text if goal else None,
            "verdict": verdict}


def print_table(rows, machine):
    print(f"\nResults ({'quick' if QUICK else 'full'} run; {machine['cores']} cores, {machine['memory_gib']} GiB; "
          f"CPU steal {machine['cpu_steal_pct']} % over the run)")
    header = (f"{'figure':<46} {'unit':<10} {'ours':>10} {'reference':>10} {'ratio':>6} {'target':>7}"
              "  verdict  reference is")
    print(header)
    print("-" * len(header))
    for r in rows:
        ref = f"{r['reference']:.0f}" if isinstance(r["reference"], (int, float)) and r["reference"] else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        print(f"{r['figure']:<46} {r['unit']:<10} {r['ours']:>10.1f} {ref:>10} {ratio:>6}"
              f" {r['target_is'] or '-':>7}  {r['verdict']:<7}  {r['reference_is']}")


def main():
    rows = []
    subprocess.run(["scripts/stack.sh", "up"], cwd=ROOT, check=True)
    print("building release binaries and bench helpers", flush=True)
    subprocess.run(["cargo", "build", "--release", "-q", "--bins", "--examples", "-p", "order-store",
                    "-p", "ingest", "-p", "query-api", "-p", "producer-sim"],
                   cwd=ROOT, check=True)
    cpu_start = cpu_times()  # steal over the benchmarks, not the build

    store_env = {"BENCH_ORDERS": "5000", "BENCH_SINGLES": "300", "BENCH_READ_SECS": "3",
                 "BENCH_ROUNDS": "2"} if QUICK else {}
    store = run_bench("store", [str(TARGET_DIR / "release/examples/store_bench")], store_env)
    for figure, values in store.items():
        if not isinstance(values, dict):
            continue
        goal = target("bench.store.batch1000_vs_copy") if "1000" in figure and "store" in figure else None
        rows.append(row(f"repository {figure}", values["unit"], values["ours"], values["reference"],
                        values["reference_is"], goal))
    read_by_uid = next((v["ours"] for k, v in store.items() if isinstance(v, dict) and k.startswith("get")), None)

    quick = ["--quick"] if QUICK else []
    ingest = run_bench("ingest", ["bench/ingest.sh", *quick])
    rows.append(row(f"ingest end-to-end, {ingest['orders']} backlog", "orders/s", ingest["ingest_rps"],
                    ingest["copy_rps"], "plain binary COPY of the same rows", target("bench.ingest.vs_copy")))
    rows.append(row("ingest peak RSS", "MB", ingest["peak_rss_mb"], goal=target("bench.ingest.peak_rss_mb")))

    http = run_bench("http", ["bench/http.sh", *quick])
    pairs = [("hot", "nginx", "query-api cache hits, quiet", "nginx quiet, same JSON as static files"),
             ("deployed", "nginx_logged", "query-api as deployed (info, JSON logs)", "nginx with its access log"),
             ("auth", "nginx_auth", "query-api cache hits, API key", "nginx quiet"),
             ("scan", "nginx_scan", "query-api scan of every uid", "nginx quiet, same scan")]
    for ours, ref, figure, reference_is in pairs:
        rows.append(row(figure, "req/s", http[f"{ours}_rps"], http[f"{ref}_rps"], reference_is,
                        target(f"bench.http.{ours}_vs_nginx_rps"), http[f"{ours}_rps_ratio"]))
        rows.append(row(f"{figure}, p99", "ms", http[f"{ours}_p99_ms"], http[f"{ref}_p99_ms"],
                        f"{reference_is}, p99", target(f"bench.http.{ours}_vs_nginx_p99"), http[f"{ours}_p99_ratio"]))
        rows.append(row(f"{figure}, CPU", "us/req", http[f"{ours}_cpu_us_per_req"],
                        http[f"{ref}_cpu_us_per_req"], f"{reference_is}, CPU", target("bench.http.cpu_vs_nginx"),
                        http[f"{ours}_cpu_ratio"]))
    rows.append(row("query-api Redis reads (no near cache)", "req/s", http["redis_rps"], http["nginx_rps"], "nginx"))
    rows.append(row("query-api with Redis down (PostgreSQL only)", "req/s", http["miss_rps"], read_by_uid,
                    "repository read-by-uid, 16 readers"))
    rows.append(row("two instances, differing bodies", "uids", http["identical_differing"],
                    goal=target("bench.http.differing_bodies")))
    rows.append(row("query-api peak RSS", "MB", http["peak_rss_mb"], goal=target("bench.http.peak_rss_mb")))

    fresh = run_bench("freshness", ["bench/freshness.sh", *quick])
    for q in ("p50", "p99"):
        rows.append(row(f"freshness at {fresh['rate']}/s, send to 200, {q}", "ms", fresh[f"{q}_ms"],
                        goal=target(f"bench.freshness.{q}_ms")))

    # After freshness: the miss run loads PostgreSQL (pgbench, a 40,000-order scan) and its
    # database drop forces a checkpoint, which would land in the freshness run.
    miss = run_bench("miss", ["bench/miss.sh", *quick])
    rows.append(row("query-api, order in neither cache", "req/s", miss["miss_rps"], miss["pgbench_tps"],
                    "pgbench, 4-table join per read, 16 clients", target("bench.miss.vs_pgbench"),
                    miss["vs_pgbench"]))

    producer = run_bench("producer", ["bench/producer.sh", *quick])
    rows.append(row(f"producer-sim, {producer['records']} records", "records/s", producer["producer_sim_rps"],
                    producer["java_perf_rps"], "Kafka ProducerPerformance, same size/acks",
                    target("bench.producer.vs_java")))
    rows.append(row("producer-sim vs Java sending the same orders", "records/s", producer["producer_sim_rps"],
                    producer["java_perf_payload_file_rps"], "ProducerPerformance --payload-file"))
    rows.append(row(f"producer-sim validate, {producer['validate_lines']} lines, one core", "lines/s",
                    producer["validate_lps"], goal=target("bench.producer.validate_lines_per_s")))
    sim = [str(TARGET_DIR / "release/producer-sim"), "--print", "--count", "20000", "--rate", "0", "--seed", "1"]
    rows.append(row("producer-sim peak RSS (--print 20k)", "MB", peak_rss_mb(sim)))

    machine = {"cores": os.cpu_count(),
               "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
               "kernel": platform.release(), "load_avg_1m": os.getloadavg()[0],
               "cpu_steal_pct": round(steal_share(cpu_start, cpu_times()) * 100, 1)}
    print_table(rows, machine)
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    out = results / time.strftime("%Y%m%dT%H%M%S.json")
    raw = {"store": store, "ingest": ingest, "http": http, "freshness": fresh, "producer": producer}
    out.write_text(json.dumps({"mode": "quick" if QUICK else "full", "machine": machine, "rows": rows,
                               "raw": raw}, indent=2))
    print(f"\nwritten {out.relative_to(ROOT)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller data sets: a sanity check (< 5 min)")
    QUICK = parser.parse_args().quick
    main()
