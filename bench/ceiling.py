"""The ceiling: a bare aiohttp app whose one GET handler returns a fixed JSON body.

It runs the way `catalyst serve` runs (through the same catalyst_api.serve: one process with
web.run_app, or --workers processes under gunicorn; uvloop where installed; no access log), so
whatever it reaches is the most the framework lets that many processes do on this machine; the
distance from it to the task list is what Catalyst's own code costs.

    .venv/bin/python bench/ceiling.py --port 8811 [--body-file page.json] [--workers N]

Without --body-file the body is a synthetic page of 20 tasks (~9 KB); bench/run.py passes a real
page captured from the server so both send the same number of bytes.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

from aiohttp import web

from catalyst_api.serve import serve


def synthetic_page(n: int = 20) -> bytes:
    task = {
        "id": str(uuid.UUID(int=1)), "client_id": str(uuid.UUID(int=2)),
        "name": "Review landing page copy #1234", "task_type": "review_creative", "status": "pending",
        "priority": "Medium", "created_by": str(uuid.UUID(int=3)),
        "assignees": [str(uuid.UUID(int=3)), str(uuid.UUID(int=4))],
        "due_date": "2025-01-01T00:00:00Z",
        "description": "The client asked for a revised version before the campaign goes live; "
                       "please check the numbers against last month and notify the account lead.",
        "related_object_id": str(uuid.UUID(int=5)), "related_object_type": "creative_submission",
        "completed_by": None, "completed_at": None,
        "created_at": "2024-06-01T12:34:56.123456Z", "updated_at": "2024-06-02T12:34:56.123456Z",
    }
    data = {"tasks": [task] * n, "total_pages": 200, "current_page": 1, "total_items": 4000}
    return json.dumps({"status_code": 200, "message": "Success", "data": data},
                      separators=(",", ":")).encode()


def make_app(body: bytes) -> web.Application:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--workers", type=int, default=1, help="processes, as `catalyst serve --workers`")
    args = parser.parse_args(argv)
    body = args.body_file.read_bytes() if args.body_file else synthetic_page()
    print(f"ceiling: {len(body)} byte body on http://{args.host}:{args.port}/ "
          f"({args.workers} worker(s))", flush=True)
    serve(lambda: make_app(body), host=args.host, port=args.port, workers=args.workers, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
