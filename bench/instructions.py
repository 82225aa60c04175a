"""Instructions per request, counted by callgrind: a figure the machine's neighbours do not move.

End-to-end figures on a shared 2-core VM move by a factor of two from one minute to the next;
the number of instructions a request executes does not. This runs the project's WSGI application
in-process (both middleware chains, Ninja, the write path, PostgreSQL over loopback) under
callgrind with collection off, warms up, then counts exactly N single-event POSTs and N
`GET /api/v1/health` (the floor: no auth, one `SELECT 1`, no write) with `callgrind_control`.
PostgreSQL's own work is not counted (it is another process).

    .venv/bin/python bench/instructions.py [--requests 200]

Needs valgrind (Debian: apt install valgrind). Uses bench/ingest.py's database (recreated).
Compare two releases by running this file from each checkout; judge the ratio POST / floor too.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import ingest  # noqa: E402 (the sibling benchmark: its database and request bodies)


def log(*parts: object) -> None:
    """Print a line of results (this is a script, not the app)."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def environ(method: str, path: str, body: bytes, token: str) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }


def measured(token: str, requests: int) -> None:
    """In the process valgrind runs: warm up, then count the POSTs and the floor apart."""
    os.environ.update(ingest.env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from config.wsgi import application

    def call(method: str, path: str, body: bytes = b"") -> str:
        answer: dict[str, str] = {}

        def start_response(status: str, headers: list, exc_info: object = None) -> None:
            answer["status"] = status

        b"".join(application(environ(method, path, body, token), start_response))
        return answer["status"]

    def posts(tag: str) -> None:
        for n in range(requests):
            body = ingest.batch_body(tag, n, 1)
            status = call("POST", f"/api/v1/sessions/{tag}-{n % 20}/events", body)
            assert status.startswith("201"), status

    def floor() -> None:
        for _ in range(requests):
            assert call("GET", "/api/v1/health").startswith("200")

    posts(f"warm-{uuid.uuid4().hex[:6]}")
    floor()
    pid = str(os.getpid())

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)

    control("-i", "on")
    posts(f"m-{uuid.uuid4().hex[:6]}")
    control("-d", "posts")
    floor()
    control("-d", "floor")
    control("-i", "off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--token", help=argparse.SUPPRESS)  # set in the process valgrind runs
    args = parser.parse_args()
    if args.token:
        measured(args.token, args.requests)
        return
    log(f"database {ingest.DB}: recreating and migrating")
    token = ingest.prepare_database()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}/cg.%p",
                sys.executable,
                __file__,
                "--requests",
                str(args.requests),
                "--token",
                token,
            ],
            check=True,
            env={**os.environ, **ingest.env()},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        totals = {}
        for dump in Path(out).glob("cg.*.*"):
            text = dump.read_text(errors="replace")
            trigger = re.search(r"^desc: Trigger: .*dump (\w+)", text, re.M)
            total = re.search(r"^totals: (\d+)", text, re.M)
            if trigger and total:
                totals[trigger.group(1)] = int(total.group(1)) / args.requests
    post, floor = totals["posts"], totals["floor"]
    log(f"single-event POST: {post / 1e6:.3f} M instructions per request ({args.requests} counted)")
    log(f"floor GET /health: {floor / 1e6:.3f} M instructions per request")
    log(f"ratio POST / floor: {post / floor:.2f}")


if __name__ == "__main__":
    main()
