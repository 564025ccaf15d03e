#!/bin/sh
# convergent: cluster routed-flat, node node1. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
# Routing tables (numbers below; rt_tables.d/convergent.conf names them): 500 public, 100 internal
set -eu

# has LINK: the link exists.
has() { ip link show dev "$1" >/dev/null 2>&1; }

# interfaces.eth1
ip link set dev eth1 up

# interfaces.eth2
ip link set dev eth2 up

# nodes.node1 uplink
has br0 || ip link add br0 type bridge
ip link set dev br0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev br0 alias 'convergent: nodes.node1'
ip link set dev eth0 master br0 up
ip link set dev br0 up

# nodes.node1.address
ip address replace 192.168.122.11/24 dev br0
# networks.internal.gateway (this node is its router)
ip address replace 10.50.0.1/24 dev eth2

# uplink.gateway
ip route replace default via 192.168.122.1 dev br0 proto 241
# networks.public.subnet
ip route replace 192.0.2.0/24 dev eth1 table 500 proto 241
# networks.public.gateway
ip route replace default via 192.0.2.1 dev eth1 table 500 proto 241
# networks.public: nothing else (no fall-through to the main table while eth1 is down)
ip route replace unreachable default metric 4294967295 table 500 proto 241
# networks.public.subnet6
ip -6 route replace 2001:db8::/64 dev eth1 table 500 proto 241
# networks.public.gateway6
ip -6 route replace default via 2001:db8::1 dev eth1 table 500 proto 241
# networks.public: nothing else (no fall-through to the main table while eth1 is down)
ip -6 route replace unreachable default metric 4294967295 table 500 proto 241
# networks.public.subnet (main table: the node reaches the guests)
ip route replace 192.0.2.0/24 dev eth1 proto 241
# networks.internal.subnet
ip route replace 10.50.0.0/24 dev eth2 table 100 proto 241
# networks.internal: nothing else (no fall-through to the main table while eth2 is down)
ip route replace unreachable default metric 4294967295 table 100 proto 241

# Policy rules: preferences 1000-1999 are convergent's (each rule holds one; a run replaces whatever
# holds it), ten per routed network in spec order: +0 iif <uplink>, +1 from <subnet>, +2 to <subnet>.
# networks.public: what arrives on the uplink
while ip -4 rule del pref 1000 2>/dev/null; do :; done; ip -4 rule add pref 1000 iif eth1 lookup 500 protocol 241
# networks.public: the guests' traffic
while ip -4 rule del pref 1001 2>/dev/null; do :; done; ip -4 rule add pref 1001 from 192.0.2.0/24 lookup 500 protocol 241
# networks.public: the node's own traffic for the guests
while ip -4 rule del pref 1002 2>/dev/null; do :; done; ip -4 rule add pref 1002 to 192.0.2.0/24 lookup 500 protocol 241
# networks.public: what arrives on the uplink
while ip -6 rule del pref 1000 2>/dev/null; do :; done; ip -6 rule add pref 1000 iif eth1 lookup 500 protocol 241
# networks.public: the guests' traffic
while ip -6 rule del pref 1001 2>/dev/null; do :; done; ip -6 rule add pref 1001 from 2001:db8::/64 lookup 500 protocol 241
# networks.public: the node's own traffic for the guests
while ip -6 rule del pref 1002 2>/dev/null; do :; done; ip -6 rule add pref 1002 to 2001:db8::/64 lookup 500 protocol 241
# networks.internal: traffic for the guests (router node)
while ip -4 rule del pref 1012 2>/dev/null; do :; done; ip -4 rule add pref 1012 to 10.50.0.0/24 lookup 100 protocol 241

# Convergent's steering preferences (2000-2999) not above: delete them, and flush the
# tables they looked up that no rule looks up any more (never this plan's, never the kernel's).
stale=$(ip -N -4 rule show | sed -n 's/^\(2[0-9][0-9][0-9]\):.* lookup \([0-9]*\).*/\1 \2/p')
echo "$stale" | while read -r pref table; do
  [ -n "$pref" ] || continue
  case "  " in *" $pref "*) continue ;; esac
  while ip -4 rule del pref "$pref" 2>/dev/null; do :; done
  case " 253 254 255 500 100 " in *" $table "*) continue ;; esac
  ip -N -4 rule show | grep -q " lookup $table\( \|$\)" || ip -4 route flush table "$table" 2>/dev/null || true
done
