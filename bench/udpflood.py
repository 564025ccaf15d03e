#!/usr/bin/env python3
# 64-byte UDP packets as fast as one process sends them, for bench/ports.bench.ts.
#   udpflood.py raw IFACE SRC_MAC DST_MAC SRC_IP DST_IP SPORT DPORT SECONDS
#       one prebuilt Ethernet frame (14 + 20 + 8 + 22 bytes of payload = 64) sent again and again on
#       an AF_PACKET socket: no routing, no neighbour lookup, no checksum per packet in the sender
#   udpflood.py udp SRC_IP DST_IP SPORT DPORT SECONDS
#       a UDP socket bound to SRC_IP:SPORT sending 22 bytes of payload (the same 64-byte frame)
#   udpflood.py sink ADDRESS PORT
#       binds ADDRESS:PORT and never reads: the kernel drops what overflows the socket's buffer, and
#       no ICMP port-unreachable flows back; prints "ready" once bound
# The senders print {"sent", "seconds", "per_second"}; the bench counts what arrived itself (the
# receiver's interface counters), since a sent packet may still be dropped on the way.
import json
import socket
import struct
import sys
import time

PAYLOAD = b"x" * 22


def checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def frame(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, sport: int, dport: int) -> bytes:
    mac = lambda m: bytes.fromhex(m.replace(":", ""))  # noqa: E731
    udp = struct.pack("!HHHH", sport, dport, 8 + len(PAYLOAD), 0) + PAYLOAD  # checksum 0: none (IPv4)
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, socket.IPPROTO_UDP, 0,
        socket.inet_aton(src_ip), socket.inet_aton(dst_ip),
    )
    ip = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return mac(dst_mac) + mac(src_mac) + b"\x08\x00" + ip + udp


def flood(send, seconds: float) -> dict:
    # Check the clock every 1,024 packets only: a clock read costs as much as a send.
    sent = 0
    start = time.monotonic()
    deadline = start + seconds
    while True:
        for _ in range(1024):
            try:
                send()
            except BlockingIOError:
                continue  # the device queue is full: try again
            sent += 1
        now = time.monotonic()
        if now >= deadline:
            break
    elapsed = now - start
    return {"sent": sent, "seconds": round(elapsed, 3), "per_second": round(sent / elapsed, 1)}


def main(args: list[str]) -> None:
    if args[:1] == ["raw"] and len(args) == 9:
        iface, src_mac, dst_mac, src_ip, dst_ip, sport, dport, seconds = args[1:]
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((iface, 0))
        data = frame(src_mac, dst_mac, src_ip, dst_ip, int(sport), int(dport))
        print(json.dumps(flood(lambda: s.send(data), float(seconds))))
    elif args[:1] == ["udp"] and len(args) == 6:
        src_ip, dst_ip, sport, dport, seconds = args[1:]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src_ip, int(sport)))
        s.connect((dst_ip, int(dport)))
        print(json.dumps(flood(lambda: s.send(PAYLOAD), float(seconds))))
    elif args[:1] == ["sink"] and len(args) == 3:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((args[1], int(args[2])))
        print("ready", flush=True)
        while True:
            time.sleep(3600)
    else:
        sys.exit(
            "usage: udpflood.py raw IFACE SRC_MAC DST_MAC SRC_IP DST_IP SPORT DPORT SECONDS"
            " | udp SRC_IP DST_IP SPORT DPORT SECONDS | sink ADDRESS PORT"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
