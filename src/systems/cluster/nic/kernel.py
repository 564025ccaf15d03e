#!/usr/bin/python3
# What `nic up|down` change in the node's kernel for a routed tap, over netlink from this one process,
# and the announcement of its guest (gnt-networking's arpsend/ndsend). One process instead of ip,
# sysctl and a python3 for the announcement: iproute2 6.1 reads every link of the node before an
# `ip neigh ... dev` command (30 ms at 10,000 taps), and each process start costs a hook 5-10 ms.
# One change per line on stdin, in order:
#   down DEV                          the link down (its MAC changes next, and its link-local with it)
#   link DEV MAC MTU ALIAS...         nomaster, address, mtu, alias (the rest of the line), up
#   sysctl KEY VALUE                  /proc/sys/KEY; the slash form, as a Xen tap is "vif1.0"
#   route replace|del ADDR DEV TABLE  ADDR/32 or /128 proto static dev DEV table TABLE
#   proxy replace|del ADDR DEV        the proxy-NDP entry of ADDR on DEV
#   unhost ADDR TAP TABLE UPLINK      TAP's ADDR/128 in TABLE deleted, and the proxy-NDP entry of ADDR
#                                     on UPLINK unless another tap routes ADDR in TABLE now
#   announce UPLINK IPV4|- IPV6|-     gratuitous ARP request and reply, unsolicited NA, on UPLINK
# Deleting what is not there (or on a device that is gone) is no error. Exit 0: done; 1: a change
# failed (stderr names it; the changes before it stand); 3: done, but the announcement failed.
# Standard library only, run as root. _socket, not socket: socket.py imports enum and selectors (15 ms).
import _socket as socket
import errno
import posix
import struct
import sys

AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6
NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x400
RTM_NEWLINK, RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWNEIGH, RTM_DELNEIGH = 16, 24, 25, 26, 28, 29
NLM_F_DUMP, NLMSG_ERROR, NLMSG_DONE = 0x300, 2, 3
SOL_NETLINK, NETLINK_GET_STRICT_CHK = 270, 12
IFLA_ADDRESS, IFLA_MTU, IFLA_MASTER, IFLA_IFALIAS = 1, 4, 10, 20
RTA_DST, RTA_OIF, RTA_TABLE, NDA_DST = 1, 4, 15, 1
RTPROT_STATIC, RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RTN_UNICAST = 4, 0, 253, 255, 1
NUD_PERMANENT, NTF_PROXY, IFF_UP = 0x80, 0x08, 0x1
# What a deletion may meet: the entry gone (ENOENT, ESRCH) or its device gone (ENODEV).
GONE = (errno.ENOENT, errno.ESRCH, errno.ENODEV)
BROADCAST = b"\xff" * 6


class Failed(Exception):
    pass


def attr(kind, payload):
    size = 4 + len(payload)
    return struct.pack("=HH", size, kind) + payload + b"\0" * (-size % 4)


class Netlink:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.sock.bind((0, 0))
        self.seq = 0

    def dump(self, kind, body):
        """Every message of a dump: (type, payload after the header)."""
        self.seq += 1
        header = struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0)
        self.sock.send(header + body)
        while True:
            data = self.sock.recv(1 << 20)
            at = 0
            while at + 16 <= len(data):
                size, typ, _, seq, _ = struct.unpack_from("=IHHII", data, at)
                if seq == self.seq:
                    if typ == NLMSG_DONE:
                        return
                    if typ == NLMSG_ERROR:
                        raise Failed("dump: %s" % posix.strerror(-struct.unpack_from("=i", data, at + 16)[0]))
                    yield typ, data[at + 16 : at + size]
                at += (size + 3) & ~3

    def request(self, kind, flags, body):
        """The kernel's answer to one request: 0, or the errno it refused with."""
        self.seq += 1
        header = struct.pack("=IHHII", 16 + len(body), kind, flags | NLM_F_REQUEST | NLM_F_ACK, self.seq, 0)
        self.sock.send(header + body)
        while True:
            data = self.sock.recv(65536)
            at = 0
            while at + 16 <= len(data):
                size, typ, _, seq, _ = struct.unpack_from("=IHHII", data, at)
                if typ == 2 and seq == self.seq:  # NLMSG_ERROR: an ack when its error is 0
                    return -struct.unpack_from("=i", data, at + 16)[0]
                at += (size + 3) & ~3


def index(dev):
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise Failed("no device %s" % dev) from None


def set_link(nl, dev, up, rest=None):
    attrs = b""
    if rest is not None:
        mac, mtu, alias = rest
        attrs = (
            attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "")))
            + attr(IFLA_MTU, struct.pack("=I", int(mtu)))
            + attr(IFLA_MASTER, struct.pack("=I", 0))
            + attr(IFLA_IFALIAS, alias.encode())
        )
    body = struct.pack("=BxHiII", 0, 0, index(dev), IFF_UP if up else 0, IFF_UP) + attrs
    return nl.request(RTM_NEWLINK, 0, body)


def route(nl, verb, address, dev, table):
    family = AF_INET6 if ":" in address else AF_INET
    dst, table = socket.inet_pton(family, address), int(table)
    if verb == "replace":
        kind, flags, proto = RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, RTPROT_STATIC
        scope = RT_SCOPE_LINK if family == AF_INET else RT_SCOPE_UNIVERSE
    else:
        kind, flags, proto, scope = RTM_DELROUTE, 0, 0, RT_SCOPE_NOWHERE
    # A table above 255 goes in RTA_TABLE only, as ip sends it.
    head = struct.pack("=BBBBBBBBI", family, len(dst) * 8, 0, 0, table if table < 256 else 0, proto, scope, RTN_UNICAST, 0)
    attrs = attr(RTA_TABLE, struct.pack("=I", table)) + attr(RTA_DST, dst) + attr(RTA_OIF, struct.pack("=I", index(dev)))
    return nl.request(kind, flags, head + attrs)


def routed_elsewhere(nl, address, tap, table):
    """
    Whether TABLE routes ADDRESS/128 to a device other than TAP. IPv6 lookups ignore the table, so
    the table is dumped (filtered by the kernel with strict checking: the guests' /128s, about 10 ms
    at 10,000); only an unhost that found no route of its own asks.
    """
    try:
        mine = socket.if_nametoindex(tap)
    except OSError:
        mine = None  # gone: its routes went with it
    dst, table = socket.inet_pton(AF_INET6, address), int(table)
    try:
        nl.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
    except OSError:
        pass  # an old kernel: every table comes, and the test below keeps this one's
    head = struct.pack("=BBBBBBBBI", AF_INET6, 0, 0, 0, table if table < 256 else 0, 0, 0, 0, 0)
    for _, msg in nl.dump(RTM_GETROUTE, head + attr(RTA_TABLE, struct.pack("=I", table))):
        if msg[1] != 128:  # rtm_dst_len
            continue
        at, attrs = 12, {}
        while at + 4 <= len(msg):
            size, kind = struct.unpack_from("=HH", msg, at)
            attrs[kind] = msg[at + 4 : at + size]
            at += (size + 3) & ~3
        oif = struct.unpack("=I", attrs[RTA_OIF])[0] if RTA_OIF in attrs else None
        routed_in = struct.unpack("=I", attrs[RTA_TABLE])[0] if RTA_TABLE in attrs else msg[4]
        if attrs.get(RTA_DST) == dst and routed_in == table and oif != mine:
            return True
    return False


def proxy(nl, verb, address, dev):
    kind, flags = (RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE) if verb == "replace" else (RTM_DELNEIGH, 0)
    head = struct.pack("=BxxxiHBB", AF_INET6, index(dev), NUD_PERMANENT, NTF_PROXY, 0)
    return nl.request(kind, flags, head + attr(NDA_DST, socket.inet_pton(AF_INET6, address)))


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
    src, dst = link_local(mac), socket.inet_pton(AF_INET6, "ff02::1")
    # Override (0x20000000), neither router nor solicited; option 2: the target's link-layer address.
    body = struct.pack("!BBHI16s", 136, 0, 0, 0x20000000, ipv6) + b"\x02\x01" + mac
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    header = struct.pack("!IHBB16s16s", 0x60000000, len(body), 58, 255, src, dst)
    return b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd" + header + body


def announce(uplink, ipv4, ipv6):
    """The packet socket it sent on (closing it is linger's), and what went wrong, if anything."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((uplink, 0))
        mac = s.getsockname()[4][:6]
        frames = []
        if ipv4 != "-":
            address = socket.inet_aton(ipv4)
            frames += [garp(mac, address, 1), garp(mac, address, 2)]
        if ipv6 != "-":
            frames.append(unsolicited_na(mac, socket.inet_pton(AF_INET6, ipv6)))
        for frame in frames:
            s.send(frame)
    except OSError as err:
        return s, "announce on %s: %s" % (uplink, err)
    return s, None


def linger(sock):
    """
    Leaves the packet socket's close to a child that outlives this process. Closing the last reference
    to a packet socket waits for an RCU grace period (packet_release's synchronize_net: 10-30 ms,
    three times the rest of this process), and the hook would wait for it at exit. The child holds
    it until this process is gone (the pipe's EOF), then closes it with nobody waiting.
    """
    try:
        gone, held = posix.pipe()
        child = posix.fork()
    except OSError:  # no child to be had (a pids limit): closed here, the slow way
        sock.close()
        return
    if child != 0:
        posix.close(gone)
        return
    try:
        for fd in (0, 1, 2, held):
            posix.close(fd)
        posix.read(gone, 1)
        sock.close()
    finally:
        posix._exit(0)


def change(nl, words):
    """One line's change: the errno the kernel refused it with, 0 when done."""
    what = words[0]
    if what == "down":
        return set_link(nl, words[1], False)
    if what == "link":
        return set_link(nl, words[1], True, (words[2], words[3], " ".join(words[4:])))
    if what == "sysctl":
        with open("/proc/sys/" + words[1], "w") as f:
            f.write(words[2])
        return 0
    if what == "route":
        return route(nl, *words[1:5])
    if what == "proxy":
        return proxy(nl, *words[1:4])
    if what == "unhost":
        address, tap, table, uplink = words[1:5]
        try:
            err = route(nl, "del", address, tap, table)
        except Failed:  # the tap is gone
            err = errno.ENODEV
        # Its own route gone before (the tap down or gone flushes it): the entry is an orphan unless
        # another tap routes the address now.
        if err == 0 or (err in GONE and not routed_elsewhere(nl, address, tap, table)):
            return proxy(nl, "del", address, uplink)
        return err
    raise Failed("unknown change %r" % what)


def main():
    nl = Netlink()
    unannounced = sock = None
    for line in filter(None, sys.stdin.read().splitlines()):
        words = line.split(" ")
        if words[0] == "announce":
            try:
                sock, unannounced = announce(*words[1:4])
            except OSError as err:  # no packet socket at all (no CAP_NET_RAW)
                unannounced = "announce on %s: %s" % (words[1], err)
            continue
        deletion = words[0] == "unhost" or (len(words) > 1 and words[1] == "del")
        try:
            err = change(nl, words)
        except Failed as failed:
            if deletion:
                continue
            raise Failed("%s: %s" % (line, failed)) from None
        if err and not (deletion and err in GONE):
            raise Failed("%s: %s (%s)" % (line, errno.errorcode.get(err, err), posix.strerror(err)))
    if sock is not None:
        linger(sock)
    if unannounced:
        print(unannounced, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # No interpreter teardown: 3-4 ms of a hook that waits for this process.
    posix._exit(3 if unannounced else 0)


if __name__ == "__main__":
    try:
        main()
    except (Failed, OSError, ValueError, TypeError) as err:
        print("kernel.py: %s" % err, file=sys.stderr)
        sys.exit(1)
