#!/usr/bin/env python3
# The lab's servers, run inside a guest or the workstation namespace. Every answer names this host
# and the peer address it saw, so a check can tell who answered and whether the source was NATed:
#   http  a real HTTP/1.1 server (http.server): GET / -> "guest1 saw 198.51.100.10:40001"
#   tcp   a banner sent on accept, like an SSH server's, then one more answer per line received
#         (a connection can stay open: the lab checks that it survives a migration)
#   udp   one reply datagram per request, like NTP
# Prints "ready" once every socket listens, then logs requests to stderr.
import argparse
import os
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    for kind in ("http", "tcp", "udp"):
        parser.add_argument(f"--{kind}", type=int, action="append", default=[])
    args = parser.parse_args()

    def answer(peer) -> bytes:
        return f"{args.name} saw {peer[0]}:{peer[1]}\n".encode()

    def log(kind: str, port: int, peer) -> None:
        sys.stderr.write(f"{kind}/{port} from {peer[0]}:{peer[1]}\n")
        sys.stderr.flush()

    class Http(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answer(self.client_address)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *rest) -> None:
            log("http", self.server.server_address[1], self.client_address)

    class Banner(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            log("tcp", self.server.server_address[1], self.client_address)
            self.request.sendall(answer(self.client_address))
            for _ in self.request.makefile("rb"):
                self.request.sendall(answer(self.client_address))

    class Datagram(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            _, sock = self.request
            log("udp", self.server.server_address[1], self.client_address)
            sock.sendto(answer(self.client_address), self.client_address)

    # socketserver listens with a backlog of 5: a few clients at once overflow it, and each dropped
    # handshake costs the client a 1 s retransmission that a check would report as the path's.
    class Tcp(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 128

    class HttpServer(ThreadingHTTPServer):
        allow_reuse_address = True
        request_queue_size = 128

    servers = (
        [HttpServer(("0.0.0.0", p), Http) for p in args.http]
        + [Tcp(("0.0.0.0", p), Banner) for p in args.tcp]
        + [socketserver.UDPServer(("0.0.0.0", p), Datagram) for p in args.udp]
    )
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    # The lab stops reading after "ready" and may close the pipe at once; nothing more goes there.
    try:
        print("ready", flush=True)
    except BrokenPipeError:
        pass
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    threading.Event().wait()


if __name__ == "__main__":
    main()
