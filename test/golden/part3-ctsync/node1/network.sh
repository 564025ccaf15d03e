#!/bin/sh
# convergent: cluster part3ctsync, node node1. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
set -eu

# has LINK: the link exists.
has() { ip link show dev "$1" >/dev/null 2>&1; }

# nodes.node1 uplink
has xenbr0 || ip link add xenbr0 type bridge
ip link set dev xenbr0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev xenbr0 alias 'convergent: nodes.node1'
ip link set dev eth0 master xenbr0 up
ip link set dev xenbr0 up

# networks.guestnet (MAC from nodes.node1 tag 1)
has guestbr0 || ip link add guestbr0 type bridge
ip link set dev guestbr0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 0
ip link set dev guestbr0 alias 'convergent: networks.guestnet'
ip link set dev eth1.100 master guestbr0 up
ip link set dev guestbr0 address 0a:01:00:00:00:01
ip link set dev guestbr0 up

# nodes.node1.address
ip address replace 192.168.122.11/24 dev xenbr0
# networks.guestnet.nodes.node1
ip address replace 10.5.5.251/24 dev guestbr0
# networks.guestnet.gateway (anycast)
ip address replace 10.5.5.254/24 dev guestbr0

# uplink.gateway
ip route replace default via 192.168.122.1 dev xenbr0 proto 241

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
