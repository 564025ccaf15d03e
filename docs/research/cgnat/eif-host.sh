#!/bin/sh
# Deterministic port-block NAT on plain netns (host kernel). Namespaces: cvgr-r (router), cvgr-c1, cvgr-c2, cvgr-s.
D=$(dirname "$(readlink -f "$0")")
cleanup() { for n in r c1 c2 s; do ip netns del cvgr-$n 2>/dev/null; done; }
cleanup; trap cleanup EXIT
for n in r c1 c2 s; do ip netns add cvgr-$n; ip -n cvgr-$n link set lo up; done
R="ip netns exec cvgr-r"
ip link add cvgr-r-s netns cvgr-r type veth peer name eth0 netns cvgr-s
ip link add cvgr-r-c netns cvgr-r type veth peer name cvgr-r-cb netns cvgr-r
$R ip link add br0 type bridge
for i in 1 2; do ip link add cvgr-c$i netns cvgr-r type veth peer name eth0 netns cvgr-c$i
  $R ip link set cvgr-c$i master br0 up
  ip -n cvgr-c$i addr add 100.64.0.1$((i-1))/10 dev eth0; ip -n cvgr-c$i link set eth0 up
  ip -n cvgr-c$i route add default via 100.64.0.1; done
$R ip addr add 100.64.0.1/10 dev br0; $R ip link set br0 up
$R ip addr add 203.0.113.1/24 dev cvgr-r-s; $R ip addr add 203.0.113.2/24 dev cvgr-r-s; $R ip link set cvgr-r-s up
ip -n cvgr-s addr add 203.0.113.254/24 dev eth0; ip -n cvgr-s link set eth0 up
$R sysctl -qw net.ipv4.ip_forward=1
# EIF + hairpinning emulated with a dynamic map filled after SNAT (priority srcnat+1 sees the chosen public port)
$R nft -f - <<'NFT' || exit 1
table ip cgnat {
  map pba { type ipv4_addr : interval ipv4_addr . inet_service
    elements = { 100.64.0.10 : 203.0.113.1 . 1024-1031, 100.64.0.11 : 203.0.113.2 . 1032-1039 } }
  # public addr . proto . public port -> client addr . client port
  map eif { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
    size 65535; flags dynamic,timeout; timeout 120s; }
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local meta l4proto udp counter dnat ip to ip daddr . meta l4proto . th dport map @eif
  }
  chain post { type nat hook postrouting priority srcnat; policy accept;
    ip saddr 100.64.0.0/10 meta l4proto { tcp, udp, icmp } counter snat ip to ip saddr map @pba
  }
  chain learn { type filter hook postrouting priority srcnat + 1; policy accept;
    ct direction original ct status snat meta l4proto udp counter update @eif { ct reply ip daddr . meta l4proto . ct reply proto-dst : ct original ip saddr . ct original proto-src }
  }
}
NFT
ip netns exec cvgr-s python3 $D/udp.py serve 203.0.113.254 5000 5001 & SRV=$!
ip netns exec cvgr-c1 python3 - <<'PY' &
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('100.64.0.10',40000)); s.settimeout(6)
s.sendto(b'hello',('203.0.113.254',5000)); print('c1 got', s.recvfrom(100))
for i in range(2):
    try: d,a=s.recvfrom(100); print('c1 got unsolicited', d, 'from', a); s.sendto(b'pong', a)
    except socket.timeout: print('c1: timeout'); break
PY
C1=$!
sleep 1
$R nft list map ip cgnat eif
P=$($R nft list map ip cgnat eif | grep -o '203.0.113.1 . udp . [0-9]*' | awk '{print $5}')
echo "== EIF: server from another port (5099) to 203.0.113.1:$P"
ip netns exec cvgr-s python3 $D/udp.py send 203.0.113.254 5099 203.0.113.1 $P
echo "== hairpin: c2 to 203.0.113.1:$P"
ip netns exec cvgr-c2 python3 $D/udp.py send 100.64.0.11 41000 203.0.113.1 $P
wait $C1
$R conntrack -L -p udp 2>/dev/null
$R nft list table ip cgnat | grep counter
kill $SRV
