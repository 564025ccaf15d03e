#!/usr/bin/env python3
# The lab's servers, run inside a guest or the workstation namespace. Every answer names this host
# and the peer address it saw, so a check can tell who answered and whether the source was NATed:
#   http  a real HTTP/1.1 server (http.server): GET / -> "guest1 saw 198.51.100.10:40001"
#   tcp   a banner sent on accept, like an SSH server's, then one more answer per line received
#         (a connection can stay open: the lab checks that it survives a migration)
#   udp   one reply datagram per request, like NTP
# Prints "ready" once every socket listens, then logs requests to stderr. With --ipv6 the sockets
# take both families (an IPv4 peer is still reported as a.b.c.d).
import argparse
import os
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Linux's value; Python's socket module names it only on some builds.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    for kind in ("http", "tcp", "udp"):
        parser.add_argument(f"--{kind}", type=int, action="append", default=[])
    parser.add_argument("--ipv6", action="store_true")
    args = parser.parse_args()
    family = socket.AF_INET6 if args.ipv6 else socket.AF_INET
    anywhere = "::" if args.ipv6 else "0.0.0.0"

    def answer(peer) -> bytes:
        host = peer[0].removeprefix("::ffff:")
        return f"{args.name} saw {host}:{peer[1]}\n".encode()

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

    # socketserver listens with a backlog of 5: a few clients at once overflow it, and each dropped
    # handshake costs the client a 1 s retransmission that a check would report as the path's.
    # An AF_INET6 socket on "::" takes IPv4 too (IPV6_V6ONLY is off by default on Linux).
    class Tcp(socketserver.ThreadingTCPServer):
        address_family = family
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 128

    class HttpServer(ThreadingHTTPServer):
        address_family = family
        allow_reuse_address = True
        request_queue_size = 128

    def udp_socket(port: int) -> socket.socket:
        # Replies leave from the address the request was sent to (IP_PKTINFO), not the one routing
        # would pick: a host with several addresses (the CGNAT lab's uplink peer) must answer from
        # the one dialled, or the client's NAT never matches the reply.
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        if args.ipv6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.bind((anywhere, port))
        return s

    def serve_udp(s: socket.socket) -> None:
        port = s.getsockname()[1]
        while True:
            _, ancillary, _, peer = s.recvmsg(2048, 256)
            log("udp", port, peer)
            reply = []
            for level, kind, info in ancillary:
                if (level, kind) == (socket.IPPROTO_IP, IP_PKTINFO):
                    # struct in_pktinfo: ifindex, spec_dst, addr. Send from addr, let routing pick the way.
                    reply.append((level, kind, bytes(4) + info[8:12] + bytes(4)))
                elif (level, kind) == (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO):
                    # struct in6_pktinfo: addr, ifindex.
                    reply.append((level, kind, info[:16] + bytes(4)))
            s.sendmsg([answer(peer)], reply, 0, peer)

    servers = (
        [HttpServer((anywhere, p), Http) for p in args.http]
        + [Tcp((anywhere, p), Banner) for p in args.tcp]
    )
    datagrams = [udp_socket(p) for p in args.udp]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    for s in datagrams:
        threading.Thread(target=serve_udp, args=(s,), daemon=True).start()
    # The lab stops reading after "ready" and may close the pipe at once; nothing more goes there.
    try:
        print("ready", flush=True)
    except BrokenPipeError:
        pass
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    threading.Event().wait()


if __name__ == "__main__":
    main()
