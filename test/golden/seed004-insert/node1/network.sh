#!/bin/sh
# convergent: cluster seed004, node node1. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
# Routing tables (numbers below; rt_tables.d/convergent.conf names them): 100 tenant-insert
set -eu

# has LINK: the link exists.
has() { ip link show dev "$1" >/dev/null 2>&1; }

# nodes.node1 uplink
has xenbr0 || ip link add xenbr0 type bridge
ip link set dev xenbr0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev xenbr0 alias 'convergent: nodes.node1'
ip link set dev eth0 master xenbr0 up
ip link set dev xenbr0 up

# networks.tenant (MAC from nodes.node1 tag 1)
has qbr-vm || ip link add qbr-vm type bridge
ip link set dev qbr-vm type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev qbr-vm alias 'convergent: networks.tenant'
ip link set dev eth1.100 master qbr-vm up
ip link set dev qbr-vm address 0a:01:00:00:00:01
ip link set dev qbr-vm up

# networks.fwnet (MAC from nodes.node1 tag 1)
has qbr-fw || ip link add qbr-fw type bridge
ip link set dev qbr-fw type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev qbr-fw alias 'convergent: networks.fwnet'
ip link set dev eth1.101 master qbr-fw up
ip link set dev qbr-fw address 0a:01:00:00:00:01
ip link set dev qbr-fw up

# networks.mgmt (MAC from nodes.node1 tag 1)
has qbr-mgmt || ip link add qbr-mgmt type bridge
ip link set dev qbr-mgmt type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev qbr-mgmt alias 'convergent: networks.mgmt'
ip link set dev eth1.102 master qbr-mgmt up
ip link set dev qbr-mgmt address 0a:01:00:00:00:01
ip link set dev qbr-mgmt up

# nodes.node1.address
ip address replace 192.168.122.11/24 dev xenbr0
# networks.tenant.nodes.node1
ip address replace 10.7.0.251/24 dev qbr-vm
# networks.tenant.gateway (node1 is its router)
ip address replace 10.7.0.1/24 dev qbr-vm
# networks.fwnet.nodes.node1
ip address replace 10.7.255.5/29 dev qbr-fw
# networks.fwnet.gateway (node1 is its router)
ip address replace 10.7.255.1/29 dev qbr-fw
# networks.mgmt.nodes.node1
ip address replace 10.7.254.251/24 dev qbr-mgmt
# networks.mgmt.gateway (node1 is its router)
ip address replace 10.7.254.1/24 dev qbr-mgmt
# networks.tenant.snat (node1 is its router)
ip address replace 192.168.122.50/32 dev xenbr0
# guests.vm1.floating: floating IP of vm1 (nic 0)
ip address replace 192.168.122.60/32 dev xenbr0
# guests.fw1.nics.1.floating: floating IP of fw1 (nic 1)
ip address replace 192.168.122.61/32 dev xenbr0

# uplink.gateway
ip route replace default via 192.168.122.1 dev xenbr0 proto 241
# networks.tenant.insert: the appliance fw1 on fwnet
ip route replace default via 10.7.255.2 dev qbr-fw table 100 proto 241
# networks.tenant.insert: fail closed (no way around fw1 while qbr-fw is down)
ip route replace unreachable default metric 4294967295 table 100 proto 241

# Steering into an appliance (seed 004): preferences 2000-2999 are convergent's (each rule holds one),
# ten per inserting network in spec order: +0.. iif <bridge> to <a subnet the node routes> lookup main (never
# steered), +8 iif <bridge> (egress), +9 iif <uplink> to <subnet> (ingress) into its table.
# networks.tenant.insert: never steered to itself (the hairpin)
while ip -4 rule del pref 2000 2>/dev/null; do :; done; ip -4 rule add pref 2000 iif qbr-vm to 10.7.0.0/24 lookup main protocol 241
# networks.tenant.insert: never steered to network mgmt (F37: east-west, direct both ways)
while ip -4 rule del pref 2001 2>/dev/null; do :; done; ip -4 rule add pref 2001 iif qbr-vm to 10.7.254.0/24 lookup main protocol 241
# networks.tenant.insert: egress: the guests to the appliance
while ip -4 rule del pref 2008 2>/dev/null; do :; done; ip -4 rule add pref 2008 iif qbr-vm lookup 100 protocol 241
# networks.tenant.insert: ingress: for the guests, after DNAT, to the appliance
while ip -4 rule del pref 2009 2>/dev/null; do :; done; ip -4 rule add pref 2009 iif xenbr0 to 10.7.0.0/24 lookup 100 protocol 241

# Convergent's steering preferences (2000-2999) not above: delete them, and flush the
# tables they looked up that no rule looks up any more (never this plan's, never the kernel's).
stale=$(ip -N -4 rule show | sed -n 's/^\(2[0-9][0-9][0-9]\):.* lookup \([0-9]*\).*/\1 \2/p')
echo "$stale" | while read -r pref table; do
  [ -n "$pref" ] || continue
  case " 2000 2001 2008 2009 " in *" $pref "*) continue ;; esac
  while ip -4 rule del pref "$pref" 2>/dev/null; do :; done
  case " 253 254 255 100 " in *" $table "*) continue ;; esac
  ip -N -4 rule show | grep -q " lookup $table\( \|$\)" || ip -4 route flush table "$table" 2>/dev/null || true
done
