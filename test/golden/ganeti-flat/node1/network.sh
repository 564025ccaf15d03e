#!/bin/sh
# convergent: cluster ganeti-flat, node node1. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
set -eu

# has LINK: the link exists.
has() { ip link show dev "$1" >/dev/null 2>&1; }

# interfaces.eth1
ip link set dev eth1 mtu 9000 up

# interfaces.eth2
ip link set dev eth2 up

# nodes.node1 uplink
has br0 || ip link add br0 type bridge
ip link set dev br0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev br0 alias 'convergent: nodes.node1'
ip link set dev eth0 master br0 up
ip link set dev br0 up

# networks.public (bridged)
has pub0 || ip link add pub0 type bridge
ip link set dev pub0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev pub0 alias 'convergent: networks.public'
ip link set dev eth1 master pub0 up
ip link set dev pub0 mtu 9000
ip link set dev pub0 up

# networks.private-a, networks.private-b (private, one bridge shared)
has prv0 || ip link add prv0 type bridge
ip link set dev prv0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev prv0 alias 'convergent: networks.private-a,'
ip link set dev eth2 master prv0 up
ip link set dev prv0 up

# nodes.node1.address
ip address replace 192.168.122.11/24 dev br0

# uplink.gateway
ip route replace default via 192.168.122.1 dev br0 proto 241

# Convergent's steering preferences (2000-2999) not above: delete them, and flush the
# tables they looked up that no rule looks up any more (never this plan's, never the kernel's).
stale=$(ip -N -4 rule show | sed -n 's/^\(2[0-9][0-9][0-9]\):.* lookup \([0-9]*\).*/\1 \2/p')
echo "$stale" | while read -r pref table; do
  [ -n "$pref" ] || continue
  case "  " in *" $pref "*) continue ;; esac
  while ip -4 rule del pref "$pref" 2>/dev/null; do :; done
  case " 253 254 255 " in *" $table "*) continue ;; esac
  ip -N -4 rule show | grep -q " lookup $table\( \|$\)" || ip -4 route flush table "$table" 2>/dev/null || true
done
