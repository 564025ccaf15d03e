#!/usr/bin/env python3
# The lab's clients for what curl and ping do not cover. Prints one JSON object.
#   probe.py tcp ADDRESS PORT SPORT [SOURCE [HOLD]]   connect from SPORT (and SOURCE), read the server's
#                                     banner; keep the connection HOLD seconds before closing it
#   probe.py udp ADDRESS PORT SPORT [SOURCE]   send a datagram from SPORT, resent each second as NTP and
#                                     DNS clients do; report the reply, its source address:port and the tries
#   ADDRESS may be IPv6 (the CGNAT lab routes IPv6 without NAT).
#   probe.py open tcp|udp ADDRESS PORT SPORT NAME WAIT   as tcp/udp (a NAT mapping opens), print that
#                                     line; then take one flow from anyone on SPORT for up to WAIT
#                                     seconds, answer it as server.py would ("NAME saw a:p") and print
#                                     {"received": "a:p"}: does the mapping let others in?
#   probe.py limit tcp|udp ADDRESS PORT COUNT SPORT   COUNT flows at once from SPORT, SPORT+1, ...,
#                                     held until all have had their chance: how many were answered?
#   probe.py arp IFACE ADDRESS [SENDER]   ask who has ADDRESS, report every MAC that answers; from
#                                     SENDER when given (proxy ARP answers no probe from 0.0.0.0)
#   probe.py ndp IFACE ADDRESS SENDER   the same in IPv6: a neighbour solicitation from SENDER, every
#                                     MAC whose advertisement for ADDRESS comes back
#   probe.py hold ADDRESS PORT SPORT  as tcp, then keep the connection; on each line on stdin, send a
#                                     line and print the answer (does the connection survive?)
#   probe.py garp IFACE ADDRESS MAC   announce ADDRESS at MAC out of IFACE only (after a migration)
#   probe.py segment IFACE ADDRESS PORT WAIT NETNS...   listen in each network namespace NETNS (by
#                                     its name in /run/netns), send one datagram to ADDRESS:PORT (a
#                                     multicast group or the broadcast address) out of IFACE, and report
#                                     {"received": [NETNS...]}: who saw it within WAIT seconds
#   probe.py vrrp IFACE WAIT NETNS...   the same with a VRRP-like advertisement (IP protocol 112, TTL
#                                     255, to 224.0.0.18) out of IFACE: an HA pair's keepalive
# A client that sent and got nothing back says "silent": true next to its error (a blocked check's
# pass); one that could not send says only its error.
# The client port is fixed so the lab can find this flow in conntrack, counters and captures.
# Waits are 3 s (ARP: 1 s) times CONVERGENT_LAB_PACE, the lab's pace (src/lab/pace.ts): more in a
# VM that starts processes slowly.
import ctypes
import errno
import json
import os
import re
import select
import socket
import struct
import sys
import time

def pace() -> float:
    try:
        return max(1.0, float(os.environ.get("CONVERGENT_LAB_PACE") or 1))
    except ValueError:
        return 1.0


PACE = pace()
TIMEOUT = 3.0 * PACE
ARP_WAIT = 1.0 * PACE
UDP_RETRY = 1.0
# server.py's answer: "NAME saw ADDRESS:PORT"
BANNER = re.compile(r"^\S+ saw (\S+)$")


def elapsed(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def bound(kind: int, address: str, sport: int, source: str = "") -> socket.socket:
    six = ":" in address
    s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source or ("::" if six else "0.0.0.0"), sport))
    return s


def tcp(address: str, port: int, sport: int, source: str = "", hold: str = "0") -> dict:
    s = bound(socket.SOCK_STREAM, address, sport, source)
    s.settimeout(TIMEOUT)
    start = time.monotonic()
    try:
        s.connect((address, port))
    except TimeoutError:
        raise TimeoutError(f"no answer to the connection within {TIMEOUT:g} s") from None
    peer = s.getpeername()
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = s.recv(512)
        except TimeoutError:
            raise Answered(f"connected, but no banner within {TIMEOUT:g} s") from None
        if not chunk:
            break
        data += chunk
    ms = elapsed(start)
    # Several clients "at once" overlap for sure: each keeps its flow until the others have theirs.
    time.sleep(float(hold))
    return {
        "banner": data.decode(errors="replace").strip(),
        "replyFrom": f"{peer[0]}:{peer[1]}",
        "ms": ms,
    }


def hold(address: str, port: int, sport: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", sport))
    s.settimeout(TIMEOUT)
    try:
        s.connect((address, port))
        peer = s.getpeername()
        lines = s.makefile("rb")
        first = lines.readline().decode(errors="replace").strip()
        print(json.dumps({"banner": first, "replyFrom": f"{peer[0]}:{peer[1]}"}), flush=True)
        for _ in sys.stdin:
            s.sendall(b"again\n")
            text = lines.readline().decode(errors="replace").strip()
            print(json.dumps({"banner": text, "replyFrom": f"{peer[0]}:{peer[1]}"} if text else {"error": "connection closed"}), flush=True)
    except (OSError, TimeoutError) as e:
        print(json.dumps({"error": reason(e)}), flush=True)


def udp(address: str, port: int, sport: int, source: str = "") -> dict:
    s = bound(socket.SOCK_DGRAM, address, sport, source)
    start = time.monotonic()
    tries = 0
    while (left := TIMEOUT - (time.monotonic() - start)) > 0:
        s.sendto(b"lab\n", (address, port))
        tries += 1
        s.settimeout(min(UDP_RETRY, left))
        try:
            # Unconnected on purpose: a reply from another address than the one dialled is still
            # received, and reported, instead of being dropped unseen.
            data, peer = s.recvfrom(2048)
        except TimeoutError:
            continue
        return {
            "banner": data.decode(errors="replace").strip(),
            "replyFrom": f"{peer[0]}:{peer[1]}",
            "ms": elapsed(start),
            "tries": tries,
        }
    raise TimeoutError(f"no reply to {tries} datagrams in {TIMEOUT:g} s")


def opened(kind: str, address: str, port: int, sport: int, name: str, wait: str) -> dict:
    first = {"tcp": tcp, "udp": udp}[kind](address, port, sport)
    if kind == "udp":
        s = bound(socket.SOCK_DGRAM, address, sport)
        print(json.dumps(first), flush=True)
        deadline = time.monotonic() + float(wait)
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                _, peer = s.recvfrom(2048)
            except TimeoutError:
                break
            if peer[:2] == (address, port):
                continue  # a late answer to a resent datagram of the first leg
            s.sendto(f"{name} saw {peer[0]}:{peer[1]}\n".encode(), peer)
            return {"received": f"{peer[0]}:{peer[1]}"}
        return {"error": f"nothing came in on port {sport} within {float(wait):.0f} s"}
    # TCP: the first connection is closed (TIME_WAIT here); a listener takes its port over.
    s = bound(socket.SOCK_STREAM, address, sport)
    s.listen(1)
    print(json.dumps(first), flush=True)
    s.settimeout(float(wait))
    try:
        conn, peer = s.accept()
    except TimeoutError:
        return {"error": f"no connection came in on port {sport} within {float(wait):.0f} s"}
    conn.sendall(f"{name} saw {peer[0]}:{peer[1]}\n".encode())
    conn.close()
    return {"received": f"{peer[0]}:{peer[1]}"}


def limit(kind: str, address: str, port: int, count: int, sport: int) -> dict:
    start = time.monotonic()
    pending = {}
    for i in range(count):
        s = bound(socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM, address, sport + i)
        s.setblocking(False)
        if kind == "tcp":
            s.connect_ex((address, port))
        pending[s] = 0.0
    seen: list[str] = []
    held = []
    # A dropped SYN is resent by the kernel after 1 s; a dropped datagram by this loop each second.
    while pending and (left := TIMEOUT - (time.monotonic() - start)) > 0:
        now = time.monotonic()
        if kind == "udp":
            for s, sent in pending.items():
                if now - sent >= UDP_RETRY:
                    s.sendto(b"lab\n", (address, port))
                    pending[s] = now
        ready, _, _ = select.select(list(pending), [], [], min(left, UDP_RETRY / 4))
        for s in ready:
            try:
                data = s.recv(512)
            except OSError:
                del pending[s]  # a refused TCP connection: not answered
                s.close()
                continue
            banner = BANNER.match(data.decode(errors="replace").strip())
            del pending[s]
            if banner:
                seen.append(banner.group(1))
                held.append(s)
            else:
                s.close()  # closed, or not our server: not answered
    for s in [*pending, *held]:
        s.close()
    return {"answered": len(seen), "seen": seen, "ms": elapsed(start)}


def arp(iface: str, address: str, sender: str = "") -> dict:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((iface, 0))
    mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    # ARP probe (RFC 5227): sender address 0.0.0.0, so the question leaves no cache entry behind;
    # a routed network's check asks with its own address, as its proxy ARP answers nothing else.
    request = (
        b"\xff" * 6 + mac + struct.pack("!H", 0x0806)
        + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
        + mac + (socket.inet_aton(sender) if sender else bytes(4)) + bytes(6) + socket.inet_aton(address)
    )
    s.send(request)
    target = socket.inet_aton(address)
    answers: list[str] = []
    deadline = time.monotonic() + ARP_WAIT
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            frame = s.recv(128)
        except TimeoutError:
            break
        op, sender, spa, tha = struct.unpack("!H", frame[20:22])[0], frame[22:28], frame[28:32], frame[32:38]
        # Only replies to this question: a bridge floods others' replies too.
        if op == 2 and spa == target and tha == mac:
            text = ":".join(f"{b:02x}" for b in sender)
            if text not in answers:
                answers.append(text)
    return {"answers": answers}


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ndp(iface: str, address: str, sender: str) -> dict:
    # A neighbour solicitation from SENDER to ADDRESS's solicited-node group, as a router asks: every
    # MAC whose advertisement for ADDRESS comes back (a proxying node answers with its own).
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
    s.bind((iface, 0))
    mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    target = socket.inet_pton(socket.AF_INET6, address)
    src = socket.inet_pton(socket.AF_INET6, sender)
    group = bytes.fromhex("ff0200000000000000000001ff") + target[13:]
    body = target + b"\x01\x01" + mac
    pseudo = src + group + struct.pack("!I", 8 + len(body)) + b"\0\0\0" + bytes([58])
    icmp = struct.pack("!BBHI", 135, 0, 0, 0) + body
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    ip = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 255) + src + group
    s.send(b"\x33\x33" + group[12:] + mac + b"\x86\xdd" + ip + icmp)
    answers: list[str] = []
    deadline = time.monotonic() + ARP_WAIT
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            frame = s.recv(256)
        except TimeoutError:
            break
        if len(frame) >= 78 and frame[20] == 58 and frame[54] == 136 and frame[62:78] == target:
            text = ":".join(f"{b:02x}" for b in frame[6:12])
            if text not in answers:
                answers.append(text)
    return {"answers": answers}


def garp(iface: str, address: str, mac_text: str) -> dict:
    # A gratuitous ARP request: sender and target address both ADDRESS, broadcast. A Linux guest
    # updates the entry it already has for ADDRESS (its gateway) to the new MAC.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((iface, 0))
    mac = bytes.fromhex(mac_text.replace(":", ""))
    ip = socket.inet_aton(address)
    frame = (
        b"\xff" * 6 + mac + struct.pack("!H", 0x0806)
        + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
        + mac + ip + bytes(6) + ip
    )
    s.send(frame)
    return {"sent": 1}


class Answered(OSError):
    """Something answered, but not as the server does: not silence."""


CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def enter(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    with open(path) as f:
        if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}: {os.strerror(ctypes.get_errno())}")


def heard(namespaces: list[str], wait: str, send) -> dict:
    """Listens in each network namespace NETNS (a packet socket is its namespace's), sends, says who saw it."""
    marker = f"convergent-lab {os.getpid()} {time.monotonic_ns()}".encode()
    home = open("/proc/self/ns/net")
    listeners = {}
    for name in namespaces:
        enter(f"/run/netns/{name}")
        listeners[socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))] = name
    if ctypes.CDLL(None, use_errno=True).setns(home.fileno(), CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns back")
    send(marker)
    received: list[str] = []
    deadline = time.monotonic() + float(wait)
    while listeners and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select(list(listeners), [], [], left)
        for sock in ready:
            frame, info = sock.recvfrom(65535)
            if info[2] != PACKET_OUTGOING and marker in frame:
                received.append(listeners.pop(sock))
    return {"received": received}


def multicast_out(iface: str, ttl: int, kind: int, proto: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, kind, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    index = socket.if_nametoindex(iface)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", bytes(4), bytes(4), index))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    return s


def segment(iface: str, address: str, port: int, wait: str, namespaces: list[str]) -> dict:
    s = multicast_out(iface, 1, socket.SOCK_DGRAM)
    return heard(namespaces, wait, lambda marker: s.sendto(marker, (address, port)))


def vrrp(iface: str, wait: str, namespaces: list[str]) -> dict:
    # As keepalived sends it: IP protocol 112, TTL 255, to 224.0.0.18; the marker after a VRRPv2-like
    # header (version 2, type 1, VRID 51, priority 100, advertisement interval 1 s).
    s = multicast_out(iface, 255, socket.SOCK_RAW, 112)
    header = struct.pack("!BBBBBBH", 0x21, 51, 100, 0, 0, 1, 0)
    return heard(namespaces, wait, lambda marker: s.sendto(header + marker, ("224.0.0.18", 0)))


def reason(e: OSError) -> str:
    """Why a client failed, never empty: "connection refused", "[Errno 113] No route to host"."""
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, TimeoutError) and not e.args:
        return f"no answer within {TIMEOUT:g} s"
    return str(e) or type(e).__name__


def main() -> None:
    kind, *rest = sys.argv[1:]
    try:
        if kind == "hold":
            return hold(rest[0], int(rest[1]), int(rest[2]))
        if kind == "garp":
            result = garp(rest[0], rest[1], rest[2])
        elif kind == "ndp":
            result = ndp(rest[0], rest[1], rest[2])
        elif kind == "arp":
            result = arp(*rest[:3])
        elif kind == "open":
            result = opened(rest[0], rest[1], int(rest[2]), int(rest[3]), rest[4], rest[5])
        elif kind == "limit":
            result = limit(rest[0], rest[1], int(rest[2]), int(rest[3]), int(rest[4]))
        elif kind == "segment":
            result = segment(rest[0], rest[1], int(rest[2]), rest[3], rest[4:])
        elif kind == "vrrp":
            result = vrrp(rest[0], rest[1], rest[2:])
        else:
            result = {"tcp": tcp, "udp": udp}[kind](rest[0], int(rest[1]), int(rest[2]), *rest[3:])
    except (OSError, TimeoutError) as e:
        result = {"error": reason(e)}
        # Sent, and nothing came back: a timeout, or no host answered the ARP for the next hop.
        if not isinstance(e, Answered) and (isinstance(e, TimeoutError) or e.errno == errno.EHOSTUNREACH):
            result["silent"] = True
    print(json.dumps(result))


if __name__ == "__main__":
    main()
