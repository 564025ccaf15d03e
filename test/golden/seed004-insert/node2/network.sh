#!/bin/sh
# convergent: cluster seed004, node node2. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
set -eu

# has LINK: the link exists.
has() { ip link show dev "$1" >/dev/null 2>&1; }

# nodes.node2 uplink
has xenbr0 || ip link add xenbr0 type bridge
ip link set dev xenbr0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev xenbr0 alias 'convergent: nodes.node2'
ip link set dev eth0 master xenbr0 up
ip link set dev xenbr0 up

# networks.tenant (MAC from nodes.node2 tag 2)
has qbr-vm || ip link add qbr-vm type bridge
ip link set dev qbr-vm type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev qbr-vm alias 'convergent: networks.tenant'
ip link set dev eth1.100 master qbr-vm up
ip link set dev qbr-vm address 0a:02:00:00:00:01
ip link set dev qbr-vm up

# networks.fwnet (MAC from nodes.node2 tag 2)
has qbr-fw || ip link add qbr-fw type bridge
ip link set dev qbr-fw type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev qbr-fw alias 'convergent: networks.fwnet'
ip link set dev eth1.101 master qbr-fw up
ip link set dev qbr-fw address 0a:02:00:00:00:01
ip link set dev qbr-fw up

# networks.mgmt (MAC from nodes.node2 tag 2)
has qbr-mgmt || ip link add qbr-mgmt type bridge
ip link set dev qbr-mgmt type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev qbr-mgmt alias 'convergent: networks.mgmt'
ip link set dev eth1.102 master qbr-mgmt up
ip link set dev qbr-mgmt address 0a:02:00:00:00:01
ip link set dev qbr-mgmt up

# nodes.node2.address
ip address replace 192.168.122.12/24 dev xenbr0

# uplink.gateway
ip route replace default via 192.168.122.1 dev xenbr0 proto 241
# networks.tenant.router (node1)
ip route replace 10.7.0.0/24 via 192.168.122.11 dev xenbr0 proto 241
# networks.mgmt.router (node1)
ip route replace 10.7.254.0/24 via 192.168.122.11 dev xenbr0 proto 241

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
