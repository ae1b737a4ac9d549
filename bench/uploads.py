"""The creative upload benchmark: server memory while one large file streams in, and the task
list's latency while many uploads arrive at once, on `catalyst serve` over SQLite.

    .venv/bin/python bench/uploads.py [--reuse] [--big-mb 20] [--uploaders 50] [--small-mb 1]

Steps (results in bench/results/uploads-<stamp>.json and a Markdown summary on stdout):

1. The tasks benchmark's seeded database (bench/seed.py: 100,000 tasks over 10 clients; --reuse
   keeps the last one) is copied to bench/results/data/uploads/, and `catalyst serve` starts on it
   (files go to the media folder under that data directory: the local-directory BlobStore).
2. memory   a warm-up upload, then one --big-mb MB video streamed in 64 KiB pieces; the server's
            resident memory (VmRSS, /proc) is sampled every 5 ms from before the upload until its
            answer; the growth is the peak minus the level before. Target: under 5 MB for 20 MB.
3. latency  the tasks benchmark's list load (wrk, bench/wrk/list.lua, 32 connections) alone, then
            again while --uploaders clients each upload --small-mb MB videos back to back (so that
            many uploads are in flight for the whole phase); p99 of both, and how many uploads
            completed (every one must be 201). Target: p99 under 50 ms with 50 uploaders of 1 MB.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import run  # noqa: E402  (bench/ is not a package)

PIECE = 64 * 1024
TARGET_GROWTH_MB = 5.0
TARGET_P99_MS = 50.0


def video(size: int) -> bytes:
    """An MP4 the server recognises from its bytes: an `ftyp` box, then `mdat` filling `size`."""
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + (0x200).to_bytes(4, "big") + b"isommp42"
    body = bytes(range(256)) * (max(0, size - len(ftyp) - 8) // 256 + 1)
    body = body[:max(0, size - len(ftyp) - 8)]
    return ftyp + (len(body) + 8).to_bytes(4, "big") + b"mdat" + body


class Uploader:
    """POSTs multipart uploads over one keep-alive connection, streaming the file in pieces."""

    def __init__(self, base: str, token: str, client_id: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.token, self.client_id = token, client_id

    def upload(self, data: bytes, name: str) -> tuple[int, bytes]:
        boundary = uuid.uuid4().hex
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in (("client_id", self.client_id), ("name", name), ("ad_type", "video")))
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}.mp4"'
                 f"\r\nContent-Type: video/mp4\r\n\r\n")
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body() -> Iterator[bytes]:
            yield head.encode()
            view = memoryview(data)
            for start in range(0, len(data), PIECE):
                yield bytes(view[start:start + PIECE])
            yield tail

        length = len(head.encode()) + len(data) + len(tail)
        self.conn.request("POST", "/api/v1/creative-submissions", body=body(), headers={
            "Authorization": f"Bearer {self.token}", "Content-Length": str(length),
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def memory_phase(bench: run.Bench, client_id: str, big_mb: int) -> dict[str, Any]:
    assert bench.server is not None
    pid = bench.server.pid
    uploader = Uploader(bench.api, bench.token, client_id)
    for n in range(3):  # warm-up: imports, buffers and the first blob's folder
        status, raw = uploader.upload(video(2 * 1024 * 1024), f"warm-up {n}")
        assert status == 201, raw[:300]
    time.sleep(0.5)
    data = video(big_mb * 1024 * 1024)
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_bytes(pid))
            time.sleep(0.005)

    before = rss_bytes(pid)
    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    status, raw = uploader.upload(data, "big video")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    uploader.close()
    assert status == 201, raw[:300]
    answer = json.loads(raw)["data"]
    assert answer["media_size"] == len(data), answer
    growth = max(samples) - before
    return {"file_mb": big_mb, "rss_before_mb": round(before / 2**20, 1),
            "rss_peak_mb": round(max(samples) / 2**20, 1), "growth_mb": round(growth / 2**20, 2),
            "samples": len(samples), "seconds": round(seconds, 2),
            "mb_per_s": round(big_mb / seconds, 1), "target_mb": TARGET_GROWTH_MB,
            "met": growth / 2**20 < TARGET_GROWTH_MB}


def latency_phase(bench: run.Bench, client_ids: list[str], uploaders: int, small_mb: float,
                  duration: float, connections: int) -> dict[str, Any]:
    list_cmd = run.wrk_command(bench.api, "list.lua", connections, duration, 2,
                               [bench.token, bench.clients, str(run.LIST_PAGES)])
    run.run_wrk([run.wrk_command(bench.api, "list.lua", connections, 3, 2,
                                 [bench.token, bench.clients, str(run.LIST_PAGES)])])  # warm-up
    alone = run.run_wrk([list_cmd])[0]
    data = video(int(small_mb * 1024 * 1024))
    stop = threading.Event()
    statuses: list[int] = []
    took: list[float] = []
    lock = threading.Lock()

    def upload_loop(n: int) -> None:
        uploader = Uploader(bench.api, bench.token, client_ids[n % len(client_ids)])
        try:
            while not stop.is_set():
                started = time.perf_counter()
                status, raw = uploader.upload(data, f"spot {n}")
                with lock:
                    statuses.append(status)
                    took.append((time.perf_counter() - started) * 1000)
                if status != 201:
                    print(f"upload answered {status}: {raw[:200]!r}", flush=True)
        finally:
            uploader.close()

    threads = [threading.Thread(target=upload_loop, args=(n,)) for n in range(uploaders)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every uploader has a request in flight before the list load starts
    with_uploads = run.run_wrk([list_cmd])[0]
    stop.set()
    for thread in threads:
        thread.join()
    keep = ("rps", "p50_ms", "p99_ms", "non2xx")
    failed = sum(1 for s in statuses if s != 201)
    return {"uploaders": uploaders, "file_mb": small_mb,
            "list_alone": {k: alone[k] for k in keep},
            "list_with_uploads": {k: with_uploads[k] for k in keep},
            "uploads_completed": len(statuses), "uploads_failed": failed,
            "upload_median_ms": round(statistics.median(took), 1) if took else None,
            "target_p99_ms": TARGET_P99_MS,
            "met": with_uploads["p99_ms"] < TARGET_P99_MS and failed == 0 and with_uploads["non2xx"] == 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="reuse the seeded tasks database")
    parser.add_argument("--big-mb", type=int, default=20)
    parser.add_argument("--uploaders", type=int, default=50)
    parser.add_argument("--small-mb", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=12, help="seconds of each latency phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=run.RESULTS / "data")
    args = parser.parse_args(argv)
    args.tasks, args.variant = 100_000, None

    stamp, run_dir = run.results_dir("uploads")
    record, db_dir = run.prepare_db(args, "uploads")
    bench = run.Bench(args, record, run_dir, db_dir)
    result: dict[str, Any] = {"stamp": stamp, "machine": run.machine()}
    try:
        bench.start_server()
        bench.login()
        result["memory"] = memory_phase(bench, record["client_ids"][0], args.big_mb)
        print(json.dumps(result["memory"]), flush=True)
        result["latency"] = latency_phase(bench, record["client_ids"], args.uploaders, args.small_mb,
                                          args.duration, args.connections)
    finally:
        run.stop(bench.server)
    (run.RESULTS / f"uploads-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(markdown(result))
    return 0


def markdown(r: dict[str, Any]) -> str:
    m, lat = r["memory"], r["latency"]
    alone, loaded = lat["list_alone"], lat["list_with_uploads"]
    return "\n".join([
        f"Run {r['stamp']}",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| server memory growth, one {m['file_mb']} MB upload | {m['growth_mb']} MB "
        f"(RSS {m['rss_before_mb']} -> {m['rss_peak_mb']} MB, {m['mb_per_s']} MB/s) | "
        f"< {m['target_mb']} MB {'met' if m['met'] else 'MISSED'} |",
        f"| task list alone, 32 conn | {alone['rps']:.0f} req/s, p99 {alone['p99_ms']} ms | |",
        f"| task list with {lat['uploaders']} uploaders of {lat['file_mb']} MB | {loaded['rps']:.0f} "
        f"req/s, p99 {loaded['p99_ms']} ms | p99 < {lat['target_p99_ms']} ms "
        f"{'met' if lat['met'] else 'MISSED'} |",
        f"| uploads completed meanwhile | {lat['uploads_completed']} ({lat['uploads_failed']} "
        f"failed), median {lat['upload_median_ms']} ms | all 201 |",
    ])


if __name__ == "__main__":
    raise SystemExit(main())
