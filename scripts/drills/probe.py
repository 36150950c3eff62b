"""Robustness probe of query-api (hostile but bounded requests from loopback) and the
schemathesis pass over its OpenAPI document."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

from pipelinekit.services import CACHE, run
from pipelinekit.targets import target

from . import infra
from .checks import Result
from .infra import DrillError, log


def raw_request(port: int, request: bytes, timeout: float = 10.0) -> tuple[int | None, bytes, float]:
    """Sends raw bytes; returns (status or None if the server closed without answering, the
    response head, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(request)
        except OSError:
            pass  # the server may close while we are still sending a huge request
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            # the body too, when it is announced and short
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            while length is not None and len(body) < min(length, 4096):
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            data = head + b"\r\n\r\n" + body
        except (TimeoutError, ConnectionResetError):
            pass
    elapsed = time.monotonic() - started
    status = None
    if data.startswith(b"HTTP/1."):
        try:
            status = int(data.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = None
    return status, data, elapsed


def request_bytes(path: bytes, headers: bytes = b"") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + b"\r\n"


def robustness_probe(port: int, known_uid: str, result: Result, token: str, slow_wait: float = 20.0) -> None:
    """Hostile requests, each carrying the API key `token` (query-api runs with access control on,
    as deployed, so the requests reach the routes), then slow clients."""
    credential = f"Authorization: Bearer {token}\r\n".encode()

    def get(path: bytes, headers: bytes = b"") -> bytes:
        return request_bytes(path, credential + headers)

    cases: list[tuple[str, bytes, set]] = [
        # (what, request, acceptable outcomes: status codes, "closed" = connection closed without an answer)
        ("10 KiB path", get(b"/order/" + b"a" * 10240), {"4xx", "closed"}),
        ("10 KiB path of percent-escapes", get(b"/order/" + b"%41" * 3414), {"4xx", "closed"}),
        ("64 KiB query string", get(b"/orders?limit=5&x=" + b"y" * 65536), {"4xx", "closed"}),
        ("1 MiB query string", get(b"/orders?limit=5&x=" + b"y" * (1 << 20)), {"4xx", "closed"}),
        ("64 KiB header", get(b"/healthz", b"X-Big: " + b"z" * 65536 + b"\r\n"), {"4xx", "closed", 200}),
        ("lone %", get(b"/order/%"), {"4xx"}),
        ("%ZZ", get(b"/order/%ZZ"), {"4xx"}),
        ("%00", get(b"/order/%00"), {"4xx"}),
        ("encoded slash", get(b"/order/abc%2Fdef"), {"4xx"}),
        ("overlong UTF-8 slash", get(b"/order/%C0%AF"), {"4xx"}),
        ("invalid UTF-8", get(b"/order/%FF%FE"), {"4xx"}),
        ("right-to-left override", get(b"/order/%E2%80%AEabc"), {"4xx"}),
        ("double encoding", get(b"/order/%252F"), {"4xx"}),
        ("path traversal", get(b"/order/..%2F..%2Fetc%2Fpasswd"), {"4xx"}),
        ("dot segments", get(b"/order/../../etc/passwd"), {"4xx"}),
        ("encoded valid uid", get(b"/order/" + "".join(f"%{ord(c):02X}" for c in known_uid).encode()), {200}),
        ("uid with trailing segment", get(b"/order/" + known_uid.encode() + b"/x"), {"4xx"}),
        ("65-char uid", get(b"/order/" + b"a" * 65), {"4xx"}),
        ("limit percent-encoded", get(b"/orders?limit=%31%30"), {200}),
        ("limit %ZZ", get(b"/orders?limit=%ZZ"), {"4xx"}),
        ("limit with NUL", get(b"/orders?limit=1%00"), {"4xx"}),
        ("limit negative", get(b"/orders?limit=-1"), {"4xx"}),
        ("limit huge", get(b"/orders?limit=99999999999999999999999"), {"4xx"}),
        ("limit twice", get(b"/orders?limit=1&limit=2"), {"4xx", 200}),
        ("limit empty", get(b"/orders?limit="), {"4xx"}),
        ("query without value", get(b"/orders?&&&=&"), {"4xx", 200}),
        ("unicode in query", get(b"/orders?limit=%EF%BC%91"), {"4xx"}),
        ("bad request line", b"GET /order/x\r\n\r\n", {"4xx", "closed"}),
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64), {"4xx", "closed"}),
        ("absolute-form URI", b"GET http://127.0.0.1/order/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
         + credential + b"\r\n", {"4xx", 200}),
        ("POST to /order",
         b"POST /order/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
         {"4xx"}),
    ]
    bad = []
    outcomes = {}
    for what, request, ok in cases:
        try:
            status, data, _ = raw_request(port, request)
        except OSError as exc:
            status, data = None, str(exc).encode()
        label = "closed" if status is None else status
        cls = "4xx" if isinstance(status, int) and 400 <= status < 500 else label
        outcomes[what] = label
        good = label in ok or cls in ok
        # Requests that reach the routes (not rejected by the HTTP layer for size or syntax) get
        # the contract's JSON error body.
        routed = (len(request) < 4096 and request.startswith((b"GET /order", b"POST /order"))
                  and b" HTTP/1.1\r\n" in request)
        if good and cls == "4xx" and routed and b"content-type: application/json" not in data.lower():
            good, label = False, f"{status} without a JSON error body"
        if not good:
            bad.append(f"{what}: {label} ({data[:100]!r})")
    result.info["probe_outcomes"] = outcomes
    result.check("probe: hostile paths, queries and encodings get a clean 4xx (or a closed connection for oversized"
                 " requests), never a 5xx", not bad,
                 f"{len(cases) - len(bad)}/{len(cases)} ok" + (f"; {bad}" if bad else ""))

    # Slow clients: 20 connections send half a request and wait; the server must answer 408/4xx or
    # close them within its header timeout, while serving everyone else meanwhile.
    outcomes_slow: list[tuple[str, float]] = []
    lock = threading.Lock()

    def slow():
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=slow_wait) as s:
                s.sendall(b"GET /order/" + known_uid.encode() + b" HTTP/1.1\r\nHost: 127.0")
                data = s.recv(4096)
                outcome = f"{data.split(b' ', 2)[1].decode()}" if data.startswith(b"HTTP/1.") else "closed"
        except TimeoutError:
            outcome = "still open"
        except OSError as exc:
            outcome = f"closed ({exc.__class__.__name__})"
        with lock:
            outcomes_slow.append((outcome, time.monotonic() - started))

    threads = [threading.Thread(target=slow) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    latencies = []
    for _ in range(10):
        t = time.monotonic()
        status = infra.http_status(port, "/healthz", timeout=5)
        latencies.append((status, round(time.monotonic() - t, 3)))
        time.sleep(0.2)
    for t in threads:
        t.join()
    still_open = [o for o in outcomes_slow if o[0] == "still open"]
    served = all(s == 200 and target("drills.probe_healthz_s").met(lat) for s, lat in latencies)
    worst = max(e for _, e in outcomes_slow)
    kinds = sorted({o for o, _ in outcomes_slow})
    result.info["slow_clients"] = {"outcomes": kinds, "slowest_s": round(worst, 1), "healthz_meanwhile": latencies}
    result.check("probe: slow clients (half a request, then silence) are timed out by the server",
                 not still_open and all(o.startswith(("4", "closed")) for o, _ in outcomes_slow),
                 f"20 slow connections → {kinds}, the last ended after {worst:.1f} s"
                 + (f"; {len(still_open)} still open after {slow_wait:.0f} s" if still_open else ""))
    result.check("probe: query-api served other requests while slow clients hung on", served, f"{latencies}")

    health = infra.http_status(port, "/healthz")
    ready = infra.http_status(port, "/readyz")
    order, _, _ = raw_request(port, get(f"/order/{known_uid}".encode()))
    result.check("probe: query-api healthy after the probe", (health, ready, order) == (200, 200, 200),
                 f"/healthz {health}, /readyz {ready}, /order {order}")


def schemathesis_venv() -> Path:
    venv = CACHE / "venv-drills"
    exe = venv / "bin" / "schemathesis"
    if exe.exists():
        return exe
    log(f"installing schemathesis into {venv} (once)")
    run(["python3", "-m", "venv", str(venv)], timeout=300)
    run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "schemathesis"], timeout=900)
    if not exe.exists():
        raise DrillError("schemathesis did not install")
    return exe


def run_schemathesis(port: int, logdir: Path, result: Result, max_examples: int, token: str) -> None:
    """schemathesis with every check, sending the API key `token`; its auth checks send requests
    without it or with a wrong one and expect 401."""
    exe = schemathesis_venv()
    report = logdir / "schemathesis-junit.xml"
    argv = [str(exe), "run", f"http://127.0.0.1:{port}/api-docs/openapi.json", "-H", f"Authorization: Bearer {token}",
            "--checks", "all", "--max-examples", str(max_examples), "--seed", "20240601",
            "--phases", "examples,coverage,fuzzing,stateful", "--workers", "2", "--request-timeout", "10",
            "--no-color", "--report", "junit", "--report-junit-path", str(report)]
    env = dict(os.environ, NO_COLOR="1", SCHEMATHESIS_HOOKS="")
    cp = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, cwd=logdir)
    out = cp.stdout + cp.stderr
    (logdir / "schemathesis.log").write_text(out)
    lines = [line.strip() for line in out.splitlines()]
    failures = []
    if "Failures:" in lines:
        for line in lines[lines.index("Failures:") + 1:]:
            if not line:
                break
            failures.append(line.lstrip("❌ ").strip())
    cases = next((line for line in lines if line.endswith("unique failures") or "generated" in line), "")
    reproduce = [line for line in lines if line.startswith("curl ")]
    result.info["schemathesis"] = {"exit": cp.returncode, "failures": failures, "test_cases": cases,
                                   "reproduce": reproduce[:20], "log": str(logdir / "schemathesis.log")}
    result.check("schemathesis: zero failures against /api-docs/openapi.json (--checks all)", cp.returncode == 0,
                 f"exit {cp.returncode}; {cases}" + (f"; failures: {failures}" if failures else "")
                 + (f"; e.g. {reproduce[:2]}" if reproduce else ""))
