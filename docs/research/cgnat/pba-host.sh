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
$R nft -f - <<'NFT' || exit 1
table ip cgnat {
  map pba { type ipv4_addr : interval ipv4_addr . inet_service
    elements = { 100.64.0.10 : 203.0.113.1 . 1024-1031, 100.64.0.11 : 203.0.113.2 . 1032-1039 } }
  map addr { type ipv4_addr : ipv4_addr
    elements = { 100.64.0.10 : 203.0.113.1, 100.64.0.11 : 203.0.113.2 } }
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "cvgr-r-s" meta l4proto { tcp, udp, icmp } counter snat ip to ip saddr map @pba
    oifname "cvgr-r-s" counter snat ip to ip saddr map @addr
  }
}
NFT
ip netns exec cvgr-s python3 $D/udp.py serve 203.0.113.254 5000 5001 5002 & SRV=$!
sleep 0.5
echo "== each client: 12 source ports (block size 8 -> expect reuse failures after 8), to port 5000"
for i in 1 2; do for p in $(seq 40000 40011); do ip netns exec cvgr-c$i python3 $D/udp.py send 100.64.0.1$((i-1)) $p 203.0.113.254 5000; done; done
echo "== EIM: client1 sport 40000 to three destination ports (same public port expected)"
ip netns exec cvgr-c1 python3 $D/udp.py send 100.64.0.10 40000 203.0.113.254 5000,5001,5002
echo "== client src port inside own block is kept? (c1 sport 1025)"
ip netns exec cvgr-c1 python3 $D/udp.py send 100.64.0.10 1025 203.0.113.254 5000
echo "== ping (icmp id in block?)"
ip netns exec cvgr-c1 ping -c1 -W1 203.0.113.254 >/dev/null && echo ping ok
$R conntrack -L -p icmp 2>/dev/null
$R conntrack -S | head -3
$R nft list chain ip cgnat post
kill $SRV
