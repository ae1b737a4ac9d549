"""What every benchmark under bench/ uses: starting and stopping servers, reading their CPU time
from /proc, and running wrk and reading its output. (run.py re-exports these as `run.<name>`.)"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WRK_DIR = BENCH_DIR / "wrk"
HOST = "127.0.0.1"

sys.path.insert(0, str(BENCH_DIR))


import seed as seeding  # noqa: E402  (bench/ is not a package)

# -- processes -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def catalyst_command() -> list[str]:
    script = Path(sys.executable).parent / "catalyst"
    return [str(script)] if script.exists() else [sys.executable, "-m", "catalyst_api.cli"]


def server_env(db_dir: Path) -> dict[str, str]:
    return dict(os.environ) | seeding.app_env(db_dir)


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                            start_new_session=True)


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # web.run_app shuts down cleanly on SIGINT
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def http(method: str, url: str, body: Any = None, token: str | None = None,
         timeout: float = 10) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            status, _ = http("GET", url, timeout=2)
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout} s; see {log}")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def wait_workers(proc: subprocess.Popen[bytes], workers: int, log: Path, timeout: float = 60) -> None:
    """With several workers, the first to boot answers the health check; wait for all of them."""
    if workers == 1:
        return
    deadline = time.monotonic() + timeout
    while len(worker_pids(proc.pid)) < workers:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{workers} workers did not start; see {log}")
        time.sleep(0.2)
    time.sleep(1)  # let the last one finish booting


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a server: the process and its live children (the workers
    of `--workers N`; a worker's time only reaches its parent's counters when it exits)."""
    fields = _stat(pid)
    if fields is None:
        return float("nan")
    ticks = int(fields[11]) + int(fields[12])
    for child in worker_pids(pid):
        if (c := _stat(child)) is not None:
            ticks += int(c[11]) + int(c[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def worker_pids(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def system_busy_seconds() -> float:
    """CPU seconds all processes have been busy so far, summed over cores (Linux /proc/stat)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU seconds of the finished child processes (the wrk runs) so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# -- wrk -------------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text: str) -> float:
    """'812.00us' / '1.23ms' / '2.01s' / '1.00m' -> milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, p50, p99 and error counts from wrk's text output (with --latency); the exact
    figures printed by our Lua `done()` (BENCH_JSON) take precedence where present."""
    out: dict[str, Any] = {}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        out["rps"] = float(m.group(1))
    for pct in ("50", "75", "90", "99"):
        if m := re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M):
            out[f"p{pct}_ms"] = to_ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    out["non2xx"] = int(m.group(1)) if m else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        out["socket_errors"] = sum(int(g) for g in m.groups())
    else:
        out["socket_errors"] = 0
    if m := re.search(r"^BENCH_JSON (\{.*\})$", output, re.M):
        exact = json.loads(m.group(1))
        seconds = exact["duration_us"] / 1e6
        out.update({
            "requests": exact["requests"],
            "seconds": round(seconds, 3),
            "rps": exact["requests"] / seconds if seconds else 0.0,
            "p50_ms": exact["p50_us"] / 1e3, "p90_ms": exact["p90_us"] / 1e3,
            "p99_ms": exact["p99_us"] / 1e3, "mean_ms": exact["mean_us"] / 1e3,
            "max_ms": exact["max_us"] / 1e3,
            "bytes_per_response": round(exact["bytes"] / exact["requests"]) if exact["requests"] else 0,
            "non2xx": exact["non2xx"],
            "socket_errors": exact["connect_errors"] + exact["read_errors"] + exact["write_errors"],
            "timeouts": exact["timeouts"],
        })
    if "rps" not in out:
        raise RuntimeError("could not read wrk's output:\n" + output)
    return out


def wrk_command(url: str, script: str, connections: int, seconds: float, threads: int,
                args: list[str]) -> list[str]:
    threads = max(1, min(threads, connections))
    cmd = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s",
           "-s", str(WRK_DIR / script), url]
    return cmd + (["--", *args] if args else [])


def run_wrk(cmds: list[list[str]]) -> list[dict[str, Any]]:
    """Run the wrk commands at the same time; return each one's parsed result."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for c in cmds]
    results = []
    for cmd, proc in zip(cmds, procs, strict=True):
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {' '.join(cmd)}\n{out}")
        results.append(parse_wrk(out) | {"raw": out})
    return results


def report_failures(results: list[tuple[str, dict[str, Any]]], run_dir: Path) -> int:
    """Warn of requests past wrk's timeout; 1 (after saying which phases) if any response was not
    2xx or any socket error happened, which is a bug to report rather than noise; else 0."""
    if slow := [(n, r) for n, r in results if r.get("timeouts")]:
        print("\nWARNING: requests slower than wrk's 2 s timeout (not in the latency figures) in: "
              + ", ".join(f"{n} ({r['timeouts']})" for n, r in slow), file=sys.stderr)
    if bad := [(n, r) for n, r in results if r["non2xx"] or r["socket_errors"]]:
        print("\nFAILED: responses that were not 2xx, or socket errors, in: "
              + ", ".join(f"{n} ({r['non2xx']} non-2xx, {r['socket_errors']} socket errors)"
                          for n, r in bad) + f" -- see {run_dir}/server.log and wrk.log",
              file=sys.stderr)
        return 1
    return 0
