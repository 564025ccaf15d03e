#!/bin/sh
# convergent: cluster proxmox, node pve1. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
set -eu

# has LINK: the link exists.
has() { ip link show dev "$1" >/dev/null 2>&1; }

# interfaces.eth1
ip link set dev eth1 up

# networks.vlan200 (VLAN 200 on eth1)
has eth1.200 || ip link add link eth1 name eth1.200 type vlan id 200
ip link set dev eth1.200 up
ip link set dev eth1.200 alias 'convergent: networks.vlan200'

# nodes.pve1 uplink
has vmbr0 || ip link add vmbr0 type bridge
ip link set dev vmbr0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev vmbr0 alias 'convergent: nodes.pve1'
ip link set dev eth0 master vmbr0 up
ip link set dev vmbr0 up

# networks.vlan200 (bridged)
has vlan200 || ip link add vlan200 type bridge
ip link set dev vlan200 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev vlan200 alias 'convergent: networks.vlan200'
ip link set dev eth1.200 master vlan200 up
ip link set dev vlan200 up

# nodes.pve1.address
ip address replace 192.168.122.21/24 dev vmbr0

# uplink.gateway
ip route replace default via 192.168.122.1 dev vmbr0 proto 241

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
