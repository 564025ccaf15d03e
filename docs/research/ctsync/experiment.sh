#!/bin/bash
# Throwaway lab: conntrackd sync between two "nodes" (netns) for asymmetric DNAT.
# Knobs (env):
#   SYNC=1|0        run conntrackd on both nodes
#   MODE=FTFW|NOTRACK
#   BRNF=1|0        net.bridge.bridge-nf-call-iptables inside the nodes
#   NOTRACK_LINK=1  nft notrack for frames bridged in from the peer node link
#   GUARD=1         drop ct state invalid in forward (un-NATed SYN-ACK is invalid -> guest retransmits)
#   LOOSE=1|0       nf_conntrack_tcp_loose in nodes
#   LIBERAL=1|0     nf_conntrack_tcp_be_liberal in nodes
#   NCONN=5         number of curl runs
#   HOLD=0          seconds to keep lab before teardown
set -u
SYNC=${SYNC:-1}; MODE=${MODE:-FTFW}; BRNF=${BRNF:-1}; NOTRACK_LINK=${NOTRACK_LINK:-0}
GUARD=${GUARD:-1}; LOOSE=${LOOSE:-1}; LIBERAL=${LIBERAL:-1}; NCONN=${NCONN:-5}; HOLD=${HOLD:-0}
P=ctsr-$$
R=$P-r; C=$P-c; N1=$P-n1; N2=$P-n2; G=$P-g
OUT=/tmp/ctsync-research/run-$$; mkdir -p $OUT
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do [ -e /proc/$p ] && grep -qv zombie /proc/$p/status 2>/dev/null && echo "SURVIVOR pid $p"; done
  for ns in $R $C $N1 $N2 $G; do ip netns del $ns 2>/dev/null; done
}
trap cleanup EXIT INT TERM
x() { ip netns exec "$@"; }
echo "run $$ SYNC=$SYNC MODE=$MODE BRNF=$BRNF NOTRACK_LINK=$NOTRACK_LINK GUARD=$GUARD LOOSE=$LOOSE LIBERAL=$LIBERAL out=$OUT"
for ns in $R $C $N1 $N2 $G; do ip netns add $ns; ip -n $ns link set lo up; done

# --- links (all veths created inside a lab namespace, peer moved to another lab namespace)
ip -n $R link add r-c type veth peer name eth0 netns $C
ip -n $R link add r-n1 type veth peer name uplink netns $N1
ip -n $R link add r-n2 type veth peer name uplink netns $N2
ip -n $N1 link add l12 type veth peer name l21 netns $N2
ip -n $N1 link add g1 type veth peer name eth0 netns $G

# --- router / uplink segment
ip -n $R link add brup type bridge
for i in r-n1 r-n2; do ip -n $R link set $i master brup up; done
ip -n $R link set brup up; ip -n $R link set r-c up
ip -n $R addr add 192.168.122.1/24 dev brup
ip -n $R addr add 198.51.100.1/24 dev r-c
x $R sysctl -qw net.ipv4.ip_forward=1
# client
ip -n $C link set eth0 up; ip -n $C addr add 198.51.100.10/24 dev eth0; ip -n $C route add default via 198.51.100.1
# guest
ip -n $G link set eth0 up; ip -n $G addr add 10.5.5.201/24 dev eth0; ip -n $G route add default via 10.5.5.254

# --- nodes
node() { # ns pubip segip link
  local ns=$1 pub=$2 seg=$3 link=$4
  ip -n $ns link set uplink up; ip -n $ns addr add $pub/24 dev uplink; ip -n $ns route add default via 192.168.122.1
  ip -n $ns link add br0 type bridge
  ip -n $ns link set $link master br0 up
  ip -n $ns link set br0 up
  ip -n $ns addr add $seg/24 dev br0
  ip -n $ns addr add 10.5.5.254/24 dev br0    # anycast gateway (secondary)
  x $ns sysctl -qw net.ipv4.ip_forward=1
  x $ns sysctl -qw net.bridge.bridge-nf-call-iptables=$BRNF
  x $ns sysctl -qw net.netfilter.nf_conntrack_tcp_loose=$LOOSE 2>/dev/null
  x $ns sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=$LIBERAL 2>/dev/null
  local nt=""; [ "$NOTRACK_LINK" = 1 ] && nt="iifname \"$link\" notrack"
  local gd=""; [ "$GUARD" = 1 ] && gd="ct state invalid counter drop"
  x $ns nft -f - <<EOF
table bridge arpguard {
  chain bfwd { type filter hook forward priority 0; arp daddr ip 10.5.5.254 oifname "$link" counter drop; arp saddr ip 10.5.5.254 iifname "$link" counter drop; }
  chain bin { type filter hook input priority 0;   arp daddr ip 10.5.5.254 iifname "$link" counter drop; }
  chain bout { type filter hook output priority 0;  arp saddr ip 10.5.5.254 oifname "$link" counter drop; }
}
table ip raw {
  chain pre { type filter hook prerouting priority raw; udp dport 3780 notrack; udp sport 3780 notrack; $nt; }
  chain out { type filter hook output priority raw; udp dport 3780 notrack; udp sport 3780 notrack; }
}
table ip nat {
  chain pre  { type nat hook prerouting priority dstnat; iifname "uplink" ip daddr $pub tcp dport 80 counter dnat to 10.5.5.201:80; }
  chain post { type nat hook postrouting priority srcnat; }
}
table ip filter {
  chain forward_chain { type filter hook forward priority 0; policy accept; $gd; counter; }
  chain input_chain { type filter hook input priority 0; policy accept; $gd; }
}
EOF
}
node $N1 192.168.122.11 10.5.5.251 l12
ip -n $N1 link set g1 master br0 up
node $N2 192.168.122.12 10.5.5.252 l21

# --- conntrackd
mkconf() { # name local peer
  cat > $OUT/conntrackd-$1.conf <<EOF
Sync {
	Mode $MODE {
		DisableExternalCache on
$( [ "$MODE" = NOTRACK ] && echo "		DisableInternalCache on" )
		StartupResync on
	}
	UDP {
		IPv4_address $2
		IPv4_Destination_Address $3
		Port 3780
		Interface br0
		Checksum on
	}
}
General {
	Systemd no
	HashSize 8192
	HashLimit 65536
	LogFile $OUT/conntrackd-$1.log
	Syslog no
	LockFile $OUT/conntrackd-$1.lock
	UNIX { Path $OUT/conntrackd-$1.ctl }
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
	Filter From Kernelspace {
		Protocol Accept { TCP }
	}
}
EOF
}
mkconf n1 10.5.5.251 10.5.5.252
mkconf n2 10.5.5.252 10.5.5.251
ip netns exec $G bash -c 'cd /tmp && exec /usr/bin/python3 -m http.server 80 --bind 10.5.5.201' >$OUT/http.log 2>&1 & PIDS+=($!)
ip netns exec $N1 conntrack -E -o timestamp >$OUT/events-n1.txt 2>&1 & PIDS+=($!)
ip netns exec $N2 conntrack -E -o timestamp >$OUT/events-n2.txt 2>&1 & PIDS+=($!)
ip netns exec $N1 tcpdump -i g1 -nn -tt -l 'tcp port 80' >$OUT/tcpdump-g1.txt 2>/dev/null & PIDS+=($!)
ip netns exec $C tcpdump -i eth0 -nn -tt -l 'tcp port 80' >$OUT/tcpdump-c.txt 2>/dev/null & PIDS+=($!)
if [ "$SYNC" = 1 ]; then
  ip netns exec $N1 conntrackd -C $OUT/conntrackd-n1.conf >$OUT/ctd-n1.out 2>&1 & PIDS+=($!)
  ip netns exec $N2 conntrackd -C $OUT/conntrackd-n2.conf >$OUT/ctd-n2.out 2>&1 & PIDS+=($!)
fi
for i in $(seq 1 50); do x $G curl -s -o /dev/null -m1 http://10.5.5.201/ && break; sleep 0.2; done; echo "guest http ready after $i tries"
sleep 1
x $C ping -c1 -W1 192.168.122.12 >/dev/null && echo "ping client->node2 ok"
x $G ping -c1 -W1 198.51.100.10 >/dev/null && echo "ping guest->client ok"
x $G ip neigh show 10.5.5.254 | sed 's/^/guest neigh: /'
ip -n $N1 -br link show br0 | sed 's/^/n1 br0: /'; ip -n $N2 -br link show br0 | sed 's/^/n2 br0: /'
for i in $(seq 1 $NCONN); do
  x $C curl -s -o /dev/null -m 8 -w "curl#$i via node2: code=%{http_code} connect=%{time_connect}s total=%{time_total}s\n" http://192.168.122.12/ || echo "curl#$i via node2: FAILED rc=$?"
  sleep 0.3
done
x $C curl -s -o /dev/null -m 8 -w "curl via node1 (symmetric): code=%{http_code} total=%{time_total}s\n" http://192.168.122.11/ || echo "curl via node1: FAILED"
sleep 0.5
echo "--- n1 conntrack table"; x $N1 conntrack -L -p tcp 2>/dev/null | head -20
echo "--- n2 conntrack table"; x $N2 conntrack -L -p tcp 2>/dev/null | head -20
echo "--- n1 nft counters"; x $N1 nft list ruleset | grep -E "counter packets [1-9]"
echo "--- n2 nft counters"; x $N2 nft list ruleset | grep -E "counter packets [1-9]"
echo "--- n1 conntrack stats (non-zero)"; x $N1 conntrack -S 2>/dev/null | head -2
if [ "$SYNC" = 1 ]; then
  echo "--- conntrackd -s n1"; x $N1 conntrackd -C $OUT/conntrackd-n1.conf -s 2>&1 | head -40 > $OUT/stats-n1.txt; grep -A3 -iE "network|external inject" $OUT/stats-n1.txt | head -20
fi
[ "$HOLD" -gt 0 ] && sleep $HOLD
exit 0
