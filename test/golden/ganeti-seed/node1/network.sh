#!/bin/sh
# convergent: cluster ganeti, node node1. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
set -eu

# has LINK: the link exists.
has() { ip link show dev "$1" >/dev/null 2>&1; }
# enslave NIC BOND: a NIC must be down to join a bond; one already in it stays up as it is.
enslave() {
  if ! ip -o link show dev "$1" | grep -q " master $2 "; then
    ip link set dev "$1" down
    ip link set dev "$1" master "$2"
  fi
}
# bond_mode BOND MODE: a bond changes mode only without slaves: refuse rather than bounce it.
bond_mode() {
  mode=$(ip -d -o link show dev "$1" | sed -n 's/.* bond mode \([^ ]*\) .*/\1/p')
  if [ -z "$mode" ]; then
    echo "network.sh: $1 exists but is no bond: rename or delete it (ip link del $1), then run this again" >&2
    exit 1
  elif [ "$mode" != "$2" ]; then
    echo "network.sh: $1 is in mode $mode, the spec says $2: a bond changes mode only without slaves (ip link del $1, then run this again)" >&2
    exit 1
  fi
}

# interfaces.bond0: mode active-backup
! has bond0 || bond_mode bond0 active-backup

# interfaces.eno1
ip link set dev eno1 mtu 9000

# interfaces.eno2
ip link set dev eno2 mtu 9000

# interfaces.bond0
has bond0 || ip link add bond0 type bond mode active-backup
ip link set dev bond0 type bond miimon 100
ip link set dev bond0 alias 'convergent: interfaces.bond0'
enslave eno1 bond0
enslave eno2 bond0
ip link set dev bond0 type bond primary eno1
ip link set dev bond0 mtu 9000 up

# networks.vlan104 (VLAN 104 on bond0)
has bond0.104 || ip link add link bond0 name bond0.104 type vlan id 104
ip link set dev bond0.104 mtu 9000 up
ip link set dev bond0.104 alias 'convergent: networks.vlan104'

# networks.vlan992 (VLAN 992 on bond0)
has bond0.992 || ip link add link bond0 name bond0.992 type vlan id 992
ip link set dev bond0.992 mtu 1500 up
ip link set dev bond0.992 alias 'convergent: networks.vlan992'

# networks.private-a, networks.private-b (VLAN 990 on bond0)
has bond0.990 || ip link add link bond0 name bond0.990 type vlan id 990
ip link set dev bond0.990 mtu 9000 up
ip link set dev bond0.990 alias 'convergent: networks.private-a,'

# nodes.node1 uplink
has br0 || ip link add br0 type bridge
ip link set dev br0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev br0 alias 'convergent: nodes.node1'
ip link set dev bond0 master br0 up
ip link set dev br0 up

# networks.vlan104 (bridged)
has vlan104 || ip link add vlan104 type bridge
ip link set dev vlan104 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev vlan104 alias 'convergent: networks.vlan104'
ip link set dev bond0.104 master vlan104 up
ip link set dev vlan104 mtu 9000
ip link set dev vlan104 up

# networks.vlan992 (bridged)
has vlan992 || ip link add vlan992 type bridge
ip link set dev vlan992 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev vlan992 alias 'convergent: networks.vlan992'
ip link set dev bond0.992 master vlan992 up
ip link set dev vlan992 mtu 1500
ip link set dev vlan992 up

# networks.private-a, networks.private-b (private, one bridge shared)
has prv0 || ip link add prv0 type bridge
ip link set dev prv0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev prv0 alias 'convergent: networks.private-a,'
ip link set dev bond0.990 master prv0 up
ip link set dev prv0 mtu 9000
ip link set dev prv0 up

# nodes.node1.address
ip address replace 83.212.4.210/27 dev br0

# uplink.gateway
ip route replace default via 83.212.4.193 dev br0 proto 241

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
