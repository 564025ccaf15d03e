#!/usr/bin/python3
# convergent nic up's announcement of a routed guest (gnt-networking's arpsend/ndsend): on the
# uplink, from the uplink's MAC, a gratuitous ARP request AND reply for the guest's IPv4 address
# ("to maximise compatibility") and an unsolicited neighbour advertisement with the override flag
# for its IPv6 address, so the upstream router moves its neighbour entry to this node at once.
# Usage: announce.py UPLINK [IPV4] [--ipv6 IPV6]. Standard library only; run as root (AF_PACKET).
# _socket, not socket: socket.py imports enum and selectors, 15 ms of a hook that must stay fast.
import _socket as socket
import struct
import sys

BROADCAST = b"\xff" * 6


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def garp(mac, ipv4, op):
    # A reply's target is the broadcast MAC, as arping -A sends it; a request's is unknown (zeros).
    target = b"\0" * 6 if op == 1 else BROADCAST
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac, ipv4, target, ipv4)
    return BROADCAST + mac + b"\x08\x06" + arp


def link_local(mac):
    # EUI-64 of the uplink's MAC: the link-local address the kernel gives the uplink.
    eui = bytes([mac[0] ^ 2]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return b"\xfe\x80" + b"\0" * 6 + eui


def unsolicited_na(mac, ipv6):
    src, dst = link_local(mac), socket.inet_pton(socket.AF_INET6, "ff02::1")
    # Override (0x20000000), neither router nor solicited; option 2: the target's link-layer address.
    body = struct.pack("!BBHI16s", 136, 0, 0, 0x20000000, ipv6) + b"\x02\x01" + mac
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    header = struct.pack("!IHBB16s16s", 0x60000000, len(body), 58, 255, src, dst)
    return b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd" + header + body


def main(argv):
    uplink, rest = argv[0], argv[1:]
    ipv6 = rest[rest.index("--ipv6") + 1] if "--ipv6" in rest else None
    ipv4 = rest[0] if rest and rest[0] != "--ipv6" else None
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((uplink, 0))
    mac = s.getsockname()[4][:6]
    frames = []
    if ipv4:
        address = socket.inet_aton(ipv4)
        frames += [garp(mac, address, 1), garp(mac, address, 2)]
    if ipv6:
        frames.append(unsolicited_na(mac, socket.inet_pton(socket.AF_INET6, ipv6)))
    for frame in frames:
        s.send(frame)
    print("announced %s from %s" % (" ".join(filter(None, [ipv4, ipv6])), mac.hex(":")))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (OSError, IndexError, ValueError) as err:
        print("announce: %s" % err, file=sys.stderr)
        sys.exit(1)
