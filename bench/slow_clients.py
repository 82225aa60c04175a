"""Slow clients against a running server: N connections trickle a request body while health is
asked for; one connection sends headers and then nothing (how long until it is answered or
dropped). Prints the figures; used by tests/config/test_slow_clients.py and by hand:

    .venv/bin/python bench/slow_clients.py http://127.0.0.1:8000 --clients 40 --seconds 10
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
import urllib.request
from urllib.parse import urlsplit


def trickle(host: str, port: int, stop: threading.Event, interval: float) -> None:
    """Send a POST's headers, then one byte of its body every `interval` seconds."""
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError:
        return
    try:
        sock.sendall(
            b"POST /api/v1/sessions/slow/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n"
            b"Authorization: Bearer x\r\n\r\n"
        )
        while not stop.is_set():
            sock.sendall(b" ")
            stop.wait(interval)
    except OSError:
        pass
    finally:
        sock.close()


def stalled(host: str, port: int, limit: float) -> tuple[float, bytes]:
    """Send headers announcing a body that never comes: (seconds until answered, answer)."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=limit) as sock:
        sock.sendall(
            b"POST /api/v1/sessions/stalled/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{"
        )
        try:
            data = sock.recv(4096)
        except TimeoutError:
            data = b""
    return time.monotonic() - started, data


def health_latencies(base: str, seconds: float) -> list[float]:
    """Ask for /api/v1/health for `seconds`: each answer's latency (timeouts count as 5 s)."""
    out: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5) as response:
                response.read()
            out.append(time.monotonic() - started)
        except OSError:
            out.append(5.0)
        time.sleep(0.2)
    return out


def measure(base: str, clients: int, seconds: float, stall_limit: float = 60) -> dict:
    """Health latencies with `clients` trickling connections, and the stalled body's fate."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stop = threading.Event()
    threads = [
        threading.Thread(target=trickle, args=(host, port, stop, 0.5), daemon=True)
        for _ in range(clients)
    ]
    for t in threads:
        t.start()
    time.sleep(1)
    stall: dict = {}
    staller = threading.Thread(
        target=lambda: stall.update(
            zip(("seconds", "answer"), stalled(host, port, stall_limit), strict=False)
        ),
        daemon=True,
    )
    staller.start()
    latencies = health_latencies(base, seconds)
    stop.set()
    staller.join(stall_limit + 5)
    return {
        "clients": clients,
        "health_answers": len(latencies),
        "health_max_s": max(latencies),
        "health_median_s": statistics.median(latencies),
        "health_p90_s": statistics.quantiles(latencies, n=10)[-1] if len(latencies) > 1 else 0,
        "stalled_seconds": stall.get("seconds"),
        "stalled_status": (stall.get("answer") or b"").split(b"\r\n", 1)[0].decode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    for key, value in measure(args.base, args.clients, args.seconds).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
