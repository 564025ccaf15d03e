#!/bin/sh
# VRF + CGNAT experiments; run inside the VM lab (Debian 6.1 kernel):
#   node --import tsx scripts/vm-run.ts 'sh docs/research/cgnat/vrf-lab.sh VARIANT...'   (from the repository)
# Router = the VM's root namespace; hosts = namespaces cvgr-upl, cvgr-blue1, cvgr-red1.
D=$(dirname "$(readlink -f "$0")")
modprobe vrf; modprobe nf_log_syslog 2>/dev/null
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
dmesg -n 1
for n in upl blue1 red1; do ip netns add cvgr-$n; ip -n cvgr-$n link set lo up; done
# NB: "ip link add up ..." fails: "up" is a keyword there; always use name/dev
ip link add name up type vrf table 10; ip link add name blue type vrf table 20; ip link add name red type vrf table 30
for v in up blue red; do ip link set dev $v up; done
# ip rule layout: l3mdev 1000, unreachable fallback 2000, local moved to 32765; fwmark rules for NAT replies at 900
for f in -4 -6; do
  ip $f rule add pref 2000 l3mdev unreachable
  ip $f rule add pref 32765 table local; ip $f rule del pref 0
done
ip rule add pref 900 fwmark 20 lookup 20; ip rule add pref 901 fwmark 30 lookup 30
# uplink
ip link add muplink type veth peer name eth0 netns cvgr-upl
ip link set muplink master up; ip addr add 203.0.113.1/24 dev muplink; ip addr add 2001:db8:a::1/64 dev muplink nodad; ip link set muplink up
ip -n cvgr-upl addr add 203.0.113.254/24 dev eth0; ip -n cvgr-upl addr add 2001:db8:a::ffff/64 dev eth0 nodad; ip -n cvgr-upl link set eth0 up
ip -n cvgr-upl -6 route add 2001:db8:b::/48 via 2001:db8:a::1
# tenants: bridge in VRF, client behind a veth port; identical IPv4, distinct IPv6
mk() { t=$1 v6=$2
  ip link add br-$t type bridge; ip link set br-$t master $t; ip link set br-$t up
  ip addr add 100.64.0.1/10 dev br-$t; ip addr add 2001:db8:b:$v6::1/64 dev br-$t nodad
  ip link add v$t type veth peer name eth0 netns cvgr-${t}1; ip link set v$t master br-$t up
  ip -n cvgr-${t}1 addr add 100.64.0.10/10 dev eth0; ip -n cvgr-${t}1 addr add 2001:db8:b:$v6::10/64 dev eth0 nodad
  ip -n cvgr-${t}1 link set eth0 up; ip -n cvgr-${t}1 route add default via 100.64.0.1; ip -n cvgr-${t}1 -6 route add default via 2001:db8:b:$v6::1
  ip route add default dev up vrf $t; ip -6 route add default dev up vrf $t || echo "v6 default dev up FAILED"
  ip -6 route add 2001:db8:b:$v6::/64 dev $t vrf up
}
mk blue 10; mk red 20
ip netns exec cvgr-upl python3 $D/udp.py serve 203.0.113.254 5000 5001 >/dev/null 2>&1 &
ip rule; ip -6 rule | head -3
sleep 1

base() { # $1 = zone statement or empty, $2 = snat match
cat <<NFT
flush ruleset
table inet cgnat {
  map pba { type mark . ipv4_addr : interval ipv4_addr . inet_service
    elements = { 20 . 100.64.0.10 : 203.0.113.1 . 1024-2047, 30 . 100.64.0.10 : 203.0.113.1 . 2048-3071 } }
  chain trace_pre { type filter hook prerouting priority -400;
    udp dport 5000 ct state invalid log prefix "PRE-400 noct "
    udp dport 5000 ct state new log prefix "PRE-400 ctnew "
    udp sport 5000 ct state invalid log prefix "PRE-400 reply-noct "
    udp sport 5000 ct state established log prefix "PRE-400 reply-est "
  }
  chain raw_pre { type filter hook prerouting priority raw;
    $1
  }
  chain mangle_pre { type filter hook prerouting priority mangle;
    ct state new ct mark set iifname map { "br-blue" : 20, "br-red" : 30 }
    ct direction reply meta mark set ct mark
  }
  chain trace_fwd { type filter hook forward priority 0;
    udp dport 5000 log prefix "FWD "
    udp sport 5000 log prefix "FWD-reply "
  }
  chain trace_out { type filter hook output priority -400;
    udp dport 5000 log prefix "OUT "
  }
  chain trace_post { type filter hook postrouting priority -400;
    udp dport 5000 log prefix "POST-400 "
    udp sport 5000 log prefix "POST-400-reply "
  }
  chain nat_post { type nat hook postrouting priority srcnat;
    udp dport 5000 log prefix "NAT-POST "
    $2 meta nfproto ipv4 meta l4proto { tcp, udp, icmp } counter snat ip to ct mark . ip saddr map @pba
  }
  chain nat_pre { type nat hook prerouting priority dstnat; }
}
NFT
}
send2() { # both tenants, same 5-tuple
  ip netns exec cvgr-blue1 python3 $D/udp.py send 100.64.0.10 40000 203.0.113.254 5000 &
  ip netns exec cvgr-red1 python3 $D/udp.py send 100.64.0.10 40000 203.0.113.254 5000
  wait $!; sleep 0.2
}
run() { name=$1; echo; echo "######## $name"
  conntrack -F 2>/dev/null; dmesg -C
  conntrack -E -o timestamp > /run/ct.$name 2>&1 & CTE=$!
  sleep 0.3
  send2
  echo "-- conntrack -L"; conntrack -L 2>/dev/null | grep -v '^$'
  kill $CTE; echo "-- conntrack -E"; cat /run/ct.$name
  echo "-- conntrack -S"; conntrack -S | awk '{print $1,$5,$6,$7}'
  echo "-- kernel log"; dmesg | grep -E 'PRE|FWD|OUT|POST' | sed -E 's/^\[[ 0-9.]+\] //; s/ (MAC|TOS|PREC|TTL|ID|LEN)=[^ ]*//g; s/ (DF|CSUM)//g' | head -30
}
for v in "$@"; do case $v in
  nozone)    base "" "" | nft -f - && run nozone ;;
  zone-vrf)  base 'ct original zone set iifname map { "blue" : 1, "red" : 2 }' "" | nft -f - && run zone-vrf ;;
  zone-slave) base 'ct original zone set iifname map { "br-blue" : 1, "br-red" : 2 }' "" | nft -f - && run zone-slave ;;
  zone-both) base 'ct zone set iifname map { "br-blue" : 1, "br-red" : 2 }' "" | nft -f - && run zone-both ;;
  snat-muplink) base 'ct original zone set iifname map { "br-blue" : 1, "br-red" : 2 }' 'oifname "muplink"' | nft -f - && run snat-muplink ;;
  snat-up) base 'ct original zone set iifname map { "br-blue" : 1, "br-red" : 2 }' 'oifname "up"' | nft -f - && run snat-up ;;
  v6)
    echo "######## v6 + icmp"
    ip netns exec cvgr-blue1 ping -c1 -W2 2001:db8:a::ffff | grep -E 'bytes from|loss'
    ip netns exec cvgr-upl ping -c1 -W2 2001:db8:b:20::10 | grep -E 'bytes from|loss'
    ip netns exec cvgr-blue1 ping -e 77 -c1 -W2 203.0.113.254 | grep -E 'bytes from|loss' &
    ip netns exec cvgr-red1 ping -e 77 -c1 -W2 203.0.113.254 | grep -E 'bytes from|loss'; wait
    conntrack -L -p icmp 2>/dev/null ;;
esac; done
