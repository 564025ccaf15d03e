#!/usr/bin/python3
# convergent's router advertisements for routed guest taps (issue 16, F19): the guests' SLAAC.
# One raw ICMPv6 socket for the whole node. A tap is served when its alias is nic up's record
# ("convergent t=<table> u=<uplink> ..."), and ra.conf has a network for that table: nic up needs no
# reload of this daemon, and an RS costs the same at 10 guests or 10,000 (three small reads of the
# tap's sysfs). Anything else (the uplink, a bridged tap, a network without subnet6) gets no answer.
# Also: a few RAs on every served tap at start, then one each interval (jittered), so the guests'
# default route (router lifetime) never lapses.
# Usage: ra.py RA.CONF. Standard library only; run as root (a raw socket).
import errno
import os
import random
import socket
import struct
import sys
import time

SYS = "/sys/class/net"
INFINITE = 0xFFFFFFFF
ICMP6_FILTER = 1  # <netinet/icmp6.h>; Python's socket module does not name it
ROUTER_SOLICITATION, ROUTER_ADVERTISEMENT = 133, 134
ALL_NODES = "ff02::1"
# RFC 4861 6.2.4: the first few RAs of an interface come closer together (at most 16 s apart).
INITIAL_ROUNDS, INITIAL_GAP = 3, 4.0
# A tap's link-local address (the RA's source) is tentative for a second after it comes up (DAD):
# an RA for it then is tried again each second, a few times, instead of waiting for the next round.
RETRY_GAP, RETRIES = 1.0, 5
# At most one answer a second per tap, checked before anything is read: a guest that floods
# solicitations costs a dictionary lookup each, and the other guests still get their answers.
ANSWER_GAP = 1.0


class ConfigError(Exception):
    pass


class Network:
    def __init__(self, name, prefix, router, valid, preferred):
        self.name, self.prefix = name, prefix
        self.router, self.valid, self.preferred = router, valid, preferred


def lifetime(text, where):
    if text == "infinite":
        return INFINITE
    if not text.isdigit() or int(text) >= INFINITE:
        raise ConfigError("%s: lifetime %r is not seconds or infinite" % (where, text))
    return int(text)


def network_line(words, where):
    # network TABLE PREFIX/64 name NAME router SECONDS valid SECONDS|infinite preferred SECONDS|infinite
    if len(words) != 11 or words[3::2] != ["name", "router", "valid", "preferred"]:
        raise ConfigError(
            "%s: expected 'network TABLE PREFIX/64 name NAME router S valid S preferred S'" % where
        )
    table, prefix = words[1], words[2]
    address, _, length = prefix.partition("/")
    if not table.isdigit() or length != "64":
        raise ConfigError("%s: %r is not a table number and a /64" % (where, " ".join(words[1:3])))
    try:
        packed = socket.inet_pton(socket.AF_INET6, address)
    except OSError:
        raise ConfigError("%s: %r is not an IPv6 prefix" % (where, prefix)) from None
    router = lifetime(words[6], where)
    if router > 9000:  # RFC 4861 4.2: at most 9000 s
        raise ConfigError("%s: router lifetime %d is over 9000 s" % (where, router))
    valid, preferred = lifetime(words[8], where), lifetime(words[10], where)
    return int(table), Network(words[4], packed, router, valid, preferred)


def read_config(path):
    """interval (s) and the networks by table, or ConfigError naming the file and line."""
    interval, networks = 600, {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        words, where = line.split("#", 1)[0].split(), "%s:%d" % (path, number)
        if not words:
            continue
        if words[0] == "interval" and len(words) == 2 and words[1].isdigit() and int(words[1]) >= 4:
            interval = int(words[1])
        elif words[0] == "network":
            table, network = network_line(words, where)
            networks[table] = network
        else:
            raise ConfigError("%s: expected 'interval SECONDS' (4 or more) or 'network ...'" % where)
    return interval, networks


def advertisement(network, mac, mtu):
    """The RA a tap sends (the kernel fills in the checksum): RFC 4861 4.2 and its options 4.6."""
    # Hop limit 64 for the guests, M=O=0 (no DHCPv6), router lifetime; reachable and retrans unset.
    head = struct.pack("!BBHBBHII", ROUTER_ADVERTISEMENT, 0, 0, 64, 0, network.router, 0, 0)
    source = struct.pack("!BB6s", 1, 1, mac)
    size = struct.pack("!BBHI", 5, 1, 0, mtu)
    # A=1 (autonomous: SLAAC), L=0: the prefix is not on-link, every guest reaches the others
    # through its tap, as it must (guests behind different taps share no link).
    prefix = struct.pack(
        "!BBBBIII16s", 3, 4, 64, 0x40, network.valid, network.preferred, 0, network.prefix
    )
    return head + source + size + prefix


def tap_table(alias):
    """The routing table a tap's nic up record names ("convergent t=500 u=eth1 ..."), else None."""
    words = alias.split()
    if not words or words[0] != "convergent":
        return None
    for word in words[1:]:
        if word.startswith("t=") and word[2:].isdigit():
            return int(word[2:])
    return None


def read_sys(tap, name):
    with open("%s/%s/%s" % (SYS, tap, name), encoding="ascii") as f:
        return f.read().strip()


def served(tap, networks):
    """The network a tap advertises, its MAC and MTU; None when the tap is not a served routed tap."""
    try:
        network = networks.get(tap_table(read_sys(tap, "ifalias")))
        if network is None:
            return None
        return network, bytes.fromhex(read_sys(tap, "address").replace(":", "")), int(read_sys(tap, "mtu"))
    except (OSError, ValueError):
        return None  # gone meanwhile, or not a network device with an alias


def open_socket():
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    # Only router solicitations reach this socket (a set bit blocks its type).
    words = [0xFFFFFFFF] * 8
    words[ROUTER_SOLICITATION >> 5] &= ~(1 << (ROUTER_SOLICITATION & 31))
    s.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *words))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    # RFC 4861 6.1.2: a guest drops an RA whose hop limit is not 255.
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    # No group to join: a node with forwarding=1 is in ff02::2 on every interface, taps included.
    return s


def send(s, tap, found, destination):
    network, mac, mtu = found
    index = socket.if_nametoindex(tap)
    # The source is left to the kernel: the tap's link-local address, the guests' router.
    pktinfo = struct.pack("=16sI", bytes(16), index)
    s.sendmsg(
        [advertisement(network, mac, mtu)],
        [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)],
        0,
        (destination, 0, 0, index),
    )


def say(line):
    print("ra: %s" % line, file=sys.stderr, flush=True)


def advertise(s, tap, found, destination, retries):
    """One RA; on a tap whose link-local address is still tentative, due again in RETRY_GAP."""
    try:
        send(s, tap, found, destination)
        retries.pop(tap, None)
        return True
    except OSError as err:
        left = retries[tap][0] - 1 if tap in retries else RETRIES
        if err.errno == errno.EADDRNOTAVAIL and left > 0:
            retries[tap] = (left, time.monotonic() + RETRY_GAP)
        else:
            retries.pop(tap, None)  # the tap gone, or tentative for too long
            say("no RA on %s to %s: %s" % (tap, destination, err.strerror or err))
        return False


def advertise_all(s, networks, retries):
    """One unsolicited RA on each served tap: every alias of the node read, O(taps) per round."""
    sent = 0
    for tap in sorted(os.listdir(SYS)):
        found = served(tap, networks)
        if found is not None and advertise(s, tap, found, ALL_NODES, retries):
            sent += 1
    return sent


def retry_due(s, networks, retries):
    now = time.monotonic()
    for tap, (_, at) in list(retries.items()):
        if at > now:
            continue
        found = served(tap, networks)
        if found is None:
            retries.pop(tap)
        elif advertise(s, tap, found, ALL_NODES, retries):
            say("RA on %s (%s) to %s, its link-local address ready" % (tap, found[0].name, ALL_NODES))


def solicited(data, ancillary):
    """The arrival interface of a valid router solicitation (RFC 4861 6.1.1), else None."""
    index, hops = None, None
    for level, kind, value in ancillary:
        if level != socket.IPPROTO_IPV6:
            continue
        if kind == socket.IPV6_PKTINFO and len(value) >= 20:
            index = struct.unpack("=I", value[16:20])[0]
        elif kind == socket.IPV6_HOPLIMIT and len(value) >= 4:
            hops = struct.unpack("=i", value[:4])[0]
    if len(data) < 8 or data[0] != ROUTER_SOLICITATION or data[1] != 0 or hops != 255:
        return None
    return index


def answer(s, networks, data, ancillary, source, retries, answered):
    index = solicited(data, ancillary)
    now = time.monotonic()
    if index is None or now - answered.get(index, -ANSWER_GAP) < ANSWER_GAP:
        return
    answered[index] = now
    try:
        tap = socket.if_indextoname(index)
    except OSError:
        return
    found = served(tap, networks)
    if found is None:
        return  # not a routed tap of a network with subnet6: not ours to answer
    # RFC 4861 6.2.6: to the soliciting address, or to all nodes when it has none yet.
    address = source[0].split("%")[0]
    destination = ALL_NODES if address == "::" else address
    if advertise(s, tap, found, destination, retries):
        say("RA on %s (%s) to %s" % (tap, found[0].name, destination))


def serve(s, interval, networks):
    rounds, due, retries, answered = 0, time.monotonic(), {}, {}
    while True:
        if time.monotonic() >= due:
            answered.clear()  # a round is seconds or minutes apart: the limit's memory stays small
            sent = advertise_all(s, networks, retries)
            rounds += 1
            if rounds <= INITIAL_ROUNDS:
                say("advertised on %d taps" % sent)
            gap = INITIAL_GAP if rounds < INITIAL_ROUNDS else random.uniform(0.75, 1.0) * interval
            due = time.monotonic() + gap
        retry_due(s, networks, retries)
        wake = min([due] + [at for _, at in retries.values()])
        # A floor above 0: a timeout of 0 makes the socket non-blocking (BlockingIOError, not a timeout).
        s.settimeout(max(0.001, wake - time.monotonic()))
        try:
            data, ancillary, _, source = s.recvmsg(1280, socket.CMSG_SPACE(20) + socket.CMSG_SPACE(4))
        except (socket.timeout, BlockingIOError, InterruptedError):
            continue
        except OSError as err:  # one bad datagram or a passing error is no reason to stop serving
            say("receive: %s" % (err.strerror or err))
            continue
        answer(s, networks, data, ancillary, source, retries, answered)


def main(argv):
    if len(argv) != 1:
        raise ConfigError("usage: ra.py RA.CONF")
    interval, networks = read_config(argv[0])
    if not networks:
        raise ConfigError("%s: no network: nothing to advertise" % argv[0])
    try:
        s = open_socket()
    except PermissionError:
        raise ConfigError("a raw ICMPv6 socket needs root (CAP_NET_RAW)") from None
    listed = ", ".join("%s (table %d)" % (n.name, t) for t, n in sorted(networks.items()))
    say("serving %s on their routed taps, every %d s and on solicitation" % (listed, interval))
    serve(s, interval, networks)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ConfigError, OSError) as err:
        say(str(err))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(0)
