#!/usr/bin/env python3
# Raw frames for test/lab/nic.test.ts: what a guest (or the wire) puts on a port, byte for byte, so a
# test can send what a kernel's own stack never would (another's source, another's ARP, another MAC).
#   nic-frames.py send IFACE FRAMES_JSON   send each frame once, in order
#   nic-frames.py sniff IFACE SECONDS       print, as JSON, the tag of every tagged frame received
# A frame is {"kind": "udp"|"tcp"|"icmp"|"arp"|"udp6"|"dad", "tag": N, "smac", "dmac", "src", "dst",
# "sport", "dport", "flags" (tcp: "S", "SA"), "op" (arp: 1 request, 2 reply)}. The tag rides where each
# kind keeps it: the IPv4 identification, the IPv6 flow label, the low byte of an ARP target's address.
import json
import socket
import struct
import sys
import time


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(f: dict, proto: int, payload: bytes) -> bytes:
    src, dst = socket.inet_aton(f["src"]), socket.inet_aton(f["dst"])
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), f["tag"], 0, 64, proto, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def l4(f: dict, proto: int, body: bytes, pseudo: bytes) -> bytes:
    whole = body[:16 if proto == 6 else 6] + b"\0\0" + body[18 if proto == 6 else 8:]
    value = checksum(pseudo + whole)
    at = 16 if proto == 6 else 6
    return whole[:at] + struct.pack("!H", value) + whole[at + 2:]


def transport(f: dict, six: bool) -> tuple[int, bytes]:
    if f["kind"] in ("udp", "udp6"):
        return 17, struct.pack("!HHHH", f["sport"], f["dport"], 8 + 4, 0) + b"test"
    if f["kind"] == "tcp":
        flags = {"S": 0x02, "SA": 0x12, "A": 0x10}[f.get("flags", "S")]
        return 6, struct.pack("!HHIIBBHHH", f["sport"], f["dport"], 1, 0, 5 << 4, flags, 65535, 0, 0)
    # icmp echo request
    body = struct.pack("!BBHHH", 8, 0, 0, f["tag"], 1) + b"test"
    return 1, body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def frame(f: dict) -> bytes:
    eth = mac(f["dmac"]) + mac(f["smac"])
    if f["kind"] == "arp":
        target = f["dst"].rsplit(".", 1)[0] + f".{f['tag']}"
        return eth + struct.pack("!H", 0x0806) + struct.pack("!HHBBH", 1, 0x0800, 6, 4, f["op"]) + mac(
            f.get("sender", f["smac"])
        ) + socket.inet_aton(f["src"]) + mac(f["dmac"] if f["op"] == 2 else "00:00:00:00:00:00") + socket.inet_aton(target)
    if f["kind"] in ("udp6", "dad"):
        src, dst = socket.inet_pton(socket.AF_INET6, f["src"]), socket.inet_pton(socket.AF_INET6, f["dst"])
        if f["kind"] == "dad":
            proto, body = 58, struct.pack("!BBHI", 135, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, f["target"])
            value = checksum(src + dst + struct.pack("!IxxxB", len(body), 58) + body)
            body = body[:2] + struct.pack("!H", value) + body[4:]
        else:
            proto, body = transport(f, True)
            body = l4(f, proto, body, src + dst + struct.pack("!IxxxB", len(body), proto))
        header = struct.pack("!IHBB16s16s", (6 << 28) | f["tag"], len(body), proto, 255, src, dst)
        return eth + struct.pack("!H", 0x86DD) + header + body
    proto, body = transport(f, False)
    if proto != 1:
        pseudo = socket.inet_aton(f["src"]) + socket.inet_aton(f["dst"]) + struct.pack("!xBH", proto, len(body))
        body = l4(f, proto, body, pseudo)
    return eth + struct.pack("!H", 0x0800) + ipv4(f, proto, body)


def tag_of(data: bytes) -> int | None:
    ethertype = struct.unpack("!H", data[12:14])[0]
    if ethertype == 0x0800:
        return struct.unpack("!H", data[18:20])[0]
    if ethertype == 0x86DD:
        return struct.unpack("!I", data[14:18])[0] & 0xFFFFF
    if ethertype == 0x0806:
        return data[41]
    return None


def send(iface: str, frames: list) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for f in frames:
        s.send(frame(f))
        time.sleep(0.01)
    print(json.dumps({"sent": len(frames)}))


def sniff(iface: str, seconds: float) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    print(json.dumps({"ready": True}), flush=True)
    seen: list[int] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            data, address = s.recvfrom(65535)
        except TimeoutError:
            break
        if address[2] == socket.PACKET_OUTGOING:
            continue
        tag = tag_of(data)
        if tag is not None and tag >= 100 and tag not in seen:
            seen.append(tag)
    print(json.dumps({"seen": sorted(seen)}))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sniff(sys.argv[2], float(sys.argv[3]))
