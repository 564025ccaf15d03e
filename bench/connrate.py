#!/usr/bin/env python3
# New TCP connections per second against a server that speaks first (the lab's banner server):
# CLIENTS connections at a time for SECONDS, each one connect, read one line, close. A connection
# counts only once its line arrived; its latency runs from before connect() to the line.
# Connections under way at the deadline are finished and counted; the rate divides by the time until
# the last of them ended, so a slow connection (ctsync's 1 s) is not cut off or left out.
# Client i dials PORT + i % PORTS: a closed connection holds its client port in TIME_WAIT for 60 s,
# but only against the same destination port, so PORTS ports give PORTS times the client ports. It
# matters: a fast baseline opens 20,000 connections a round, and once half of the client ports to one
# destination are taken (Linux tries the even ones first), each connect() scans them all: the rate
# fell from 4,500 to 200 a second after 56,000 connections with 4 ports and the default range.
#   usage: connrate.py ADDRESS PORT CLIENTS SECONDS [PORTS]
#   prints: {"connections", "per_second", "median_ms", "p90_ms", "p99_ms", "failures", "errors", "seconds"}
# The server, run in the guest: connrate.py --serve PORT NAME [PORTS] answers every connection to
# PORT..PORT+PORTS-1 at once with "NAME saw ADDR:PORT", as the lab's banner server does, then waits
# for the client to close. The bench does not use the lab's server because it (socketserver) listens
# with a backlog of 5: 16 clients at once overflow it, and the dropped handshakes (1 s each) would
# swamp what is measured.
import asyncio
import json
import math
import sys
import time
from collections import Counter

TIMEOUT = 5.0


async def one(address: str, port: int) -> float:
    start = time.monotonic()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), TIMEOUT)
    try:
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
    finally:
        writer.close()
    if not line.endswith(b"\n"):
        raise ConnectionError("closed before the banner")
    return time.monotonic() - start


async def main(address: str, port: int, clients: int, seconds: float, ports: int) -> dict:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = time.monotonic()
    deadline = start + seconds

    async def client(port: int) -> None:
        while time.monotonic() < deadline:
            try:
                latencies.append(await one(address, port))
            except (OSError, asyncio.TimeoutError) as err:
                errors[type(err).__name__] += 1
                # A refused or unreachable address fails at once: do not spin on it.
                await asyncio.sleep(0.01)

    await asyncio.gather(*(client(port + i % ports) for i in range(clients)))
    elapsed = time.monotonic() - start
    ms = sorted(x * 1000 for x in latencies)

    def quantile(q: float) -> float | None:
        # Nearest rank: the smallest latency that a share q of the connections did not exceed.
        return round(ms[max(0, math.ceil(len(ms) * q) - 1)], 3) if ms else None

    return {
        "connections": len(ms),
        "per_second": round(len(ms) / elapsed, 1),
        "median_ms": quantile(0.5),
        "p90_ms": quantile(0.9),
        "p99_ms": quantile(0.99),
        "failures": sum(errors.values()),
        "errors": dict(errors),
        "seconds": round(elapsed, 3),
    }


async def serve(port: int, name: str, ports: int) -> None:
    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            writer.write(f"{name} saw {peer[0]}:{peer[1]}\n".encode())
            await writer.drain()
            while await reader.read(4096):
                pass
        except OSError:
            pass
        finally:
            writer.close()

    servers = [
        await asyncio.start_server(banner, "0.0.0.0", p, backlog=1024, reuse_address=True)
        for p in range(port, port + ports)
    ]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--serve"] and len(args) in (3, 4):
        asyncio.run(serve(int(args[1]), args[2], int(args[3]) if len(args) == 4 else 1))
    elif len(args) in (4, 5):
        address, port, clients, seconds = args[0], int(args[1]), int(args[2]), float(args[3])
        ports = int(args[4]) if len(args) == 5 else 1
        print(json.dumps(asyncio.run(main(address, port, clients, seconds, ports))))
    else:
        sys.exit("usage: connrate.py ADDRESS PORT CLIENTS SECONDS [PORTS] | connrate.py --serve PORT NAME [PORTS]")
