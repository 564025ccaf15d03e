#!/usr/bin/env python3
# Transactions per second: request/response round trips on connections held open (netperf's TCP_RR).
# CLIENTS connections are opened first (their handshakes are not timed: under ctsync one through a
# foreign node can take a second); then each sends SIZE bytes, waits for SIZE bytes back, and sends
# again, for SECONDS. A transaction counts once its whole answer arrived; the rate divides by the time
# until the last client stopped; latency is the median and p90 of each client's mean round trip.
#   usage: rrate.py ADDRESS PORT CLIENTS SECONDS [SIZE]
#   prints: {"transactions", "per_second", "median_us", "p90_us", "clients", "failures", "errors", "seconds"}
# The server, run in the guest: rrate.py --serve PORT echoes whatever arrives, on every connection,
# at once (asyncio protocols, TCP_NODELAY: a 64-byte answer must not wait for Nagle).
import asyncio
import json
import math
import socket
import sys
import time
from collections import Counter

TIMEOUT = 5.0


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Client(asyncio.Protocol):
    """Sends a request, waits for all of its answer, sends the next, until `stop` is set."""

    def __init__(self, size: int, stop: asyncio.Event) -> None:
        self.request = b"r" * size
        self.pending = 0
        self.count = 0
        self.stop = stop
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.started = 0.0
        self.ended = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport

    def begin(self) -> None:
        self.started = time.monotonic()
        self.send()

    def send(self) -> None:
        self.pending = len(self.request)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending > 0:
            return
        self.count += 1
        if self.stop.is_set():
            self.ended = time.monotonic()
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)
        else:
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("closed by the server"))


async def main(address: str, port: int, clients: int, seconds: float, size: int) -> dict:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    errors: Counter[str] = Counter()

    async def connect() -> Client | None:
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: Client(size, stop), address, port), TIMEOUT
            )
            return proto
        except (OSError, asyncio.TimeoutError) as err:
            errors[type(err).__name__] += 1
            return None

    held = [c for c in await asyncio.gather(*(connect() for _ in range(clients))) if c]
    start = time.monotonic()
    for c in held:
        c.begin()
    await asyncio.sleep(seconds)
    stop.set()
    ok: list[Client] = []
    for c in held:
        try:
            await asyncio.wait_for(c.done, TIMEOUT)
            ok.append(c)
        except (OSError, asyncio.TimeoutError) as err:
            errors[type(err).__name__] += 1
    elapsed = (max(c.ended for c in ok) if ok else time.monotonic()) - start
    transactions = sum(c.count for c in ok)
    means = sorted((c.ended - c.started) / c.count * 1e6 for c in ok if c.count > 0)

    def quantile(q: float) -> float | None:
        return round(means[max(0, math.ceil(len(means) * q) - 1)], 1) if means else None

    return {
        "transactions": transactions,
        "per_second": round(transactions / elapsed, 1) if elapsed > 0 else 0.0,
        "median_us": quantile(0.5),
        "p90_us": quantile(0.9),
        "clients": len(ok),
        "failures": sum(errors.values()),
        "errors": dict(errors),
        "seconds": round(elapsed, 3),
    }


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "0.0.0.0", port, backlog=1024, reuse_address=True)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--serve"] and len(args) == 2:
        asyncio.run(serve(int(args[1])))
    elif len(args) in (4, 5):
        address, port, clients, seconds = args[0], int(args[1]), int(args[2]), float(args[3])
        size = int(args[4]) if len(args) == 5 else 64
        print(json.dumps(asyncio.run(main(address, port, clients, seconds, size))))
    else:
        sys.exit("usage: rrate.py ADDRESS PORT CLIENTS SECONDS [SIZE] | rrate.py --serve PORT")
