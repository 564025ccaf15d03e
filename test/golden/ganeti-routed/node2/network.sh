#!/bin/sh
# convergent: cluster ganeti-routed, node node2. Generated from the cluster spec: edit the spec, not this file.
# Links, addresses and routes for bring-up: sh network.sh (or interfaces.d/convergent with ifupdown, not both).
# Re-runnable: it creates what is missing and sets the rest, so a second run changes nothing.
# Ports that are neither a NIC, bond nor VLAN of the spec (cluster pipes) must exist first.
# Routing tables (numbers below; rt_tables.d/convergent.conf names them): 993 public-993
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

# interfaces.bond0
has bond0 || ip link add bond0 type bond mode active-backup
ip link set dev bond0 type bond miimon 100
ip link set dev bond0 alias 'convergent: interfaces.bond0'
enslave eno1 bond0
enslave eno2 bond0
ip link set dev bond0 type bond primary eno1
ip link set dev bond0 up

# networks.public-993 (routed: VLAN 993 on bond0, no bridge, loose binding)
has bond0.993 || ip link add link bond0 name bond0.993 type vlan id 993 loose_binding on
ip link set dev bond0.993 type vlan loose_binding on
ip link set dev bond0.993 up
ip link set dev bond0.993 alias 'convergent: networks.public-993'

# nodes.node2 uplink
has br0 || ip link add br0 type bridge
ip link set dev br0 type bridge stp_state 0 nf_call_iptables 0 mcast_snooping 1
ip link set dev br0 alias 'convergent: nodes.node2'
ip link set dev eno3 master br0 up
ip link set dev br0 up

# nodes.node2.address
ip address replace 83.212.4.211/27 dev br0

# uplink.gateway
ip route replace default via 83.212.4.193 dev br0 proto 241
# networks.public-993.subnet
ip route replace 62.217.124.48/29 dev bond0.993 table 993 proto 241
# networks.public-993.gateway
ip route replace default via 62.217.124.49 dev bond0.993 table 993 proto 241
# networks.public-993: nothing else (no fall-through to the main table while bond0.993 is down)
ip route replace unreachable default metric 4294967295 table 993 proto 241
# networks.public-993.subnet (main table: the node reaches the guests)
ip route replace 62.217.124.48/29 dev bond0.993 proto 241

# Policy rules: preferences 1000-1999 are convergent's (each rule holds one; a run replaces whatever
# holds it), ten per routed network in spec order: +0 iif <uplink>, +1 from <subnet>, +2 to <subnet>.
# networks.public-993: what arrives on the uplink
while ip -4 rule del pref 1000 2>/dev/null; do :; done; ip -4 rule add pref 1000 iif bond0.993 lookup 993 protocol 241
# networks.public-993: the guests' traffic
while ip -4 rule del pref 1001 2>/dev/null; do :; done; ip -4 rule add pref 1001 from 62.217.124.48/29 lookup 993 protocol 241
# networks.public-993: the node's own traffic for the guests
while ip -4 rule del pref 1002 2>/dev/null; do :; done; ip -4 rule add pref 1002 to 62.217.124.48/29 lookup 993 protocol 241

# Convergent's steering preferences (2000-2999) not above: delete them, and flush the
# tables they looked up that no rule looks up any more (never this plan's, never the kernel's).
stale=$(ip -N -4 rule show | sed -n 's/^\(2[0-9][0-9][0-9]\):.* lookup \([0-9]*\).*/\1 \2/p')
echo "$stale" | while read -r pref table; do
  [ -n "$pref" ] || continue
  case "  " in *" $pref "*) continue ;; esac
  while ip -4 rule del pref "$pref" 2>/dev/null; do :; done
  case " 253 254 255 993 " in *" $table "*) continue ;; esac
  ip -N -4 rule show | grep -q " lookup $table\( \|$\)" || ip -4 route flush table "$table" 2>/dev/null || true
done
