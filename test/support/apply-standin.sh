#!/bin/sh
# A stand-in for `convergent diff/apply/rollback` (issue 18) with the same interface and exit
# statuses, for the Ansible rollout's test until the real commands land: it records which spec a
# node "applied" in its --state directory instead of changing the node. Its argv: the real
# convergent's, then --, then the command; check and render run the real one.
#   diff SPEC --node N --state S        0 when S/applied.yaml is SPEC, else 5
#   apply SPEC --node N --confirm-within T --state S
#                                       6 (rolled back by itself) when SPEC has "# stand-in: break N",
#                                       else SPEC becomes S/applied.yaml, awaiting confirmation: 0
#   apply --confirm --state S           confirms: 0
#   rollback --state S                  the applied spec before an unconfirmed apply is restored
# Each command that changes something appends a line to S/log.
set -eu
real=
while [ "$1" != -- ]; do real="$real '$1'"; shift; done
shift
command=$1
shift
case $command in check | render) eval "exec $real $command \"\$@\"" ;; esac
spec= node= state= confirm=
while [ $# -gt 0 ]; do
  case $1 in
    --node) node=$2; shift 2 ;;
    --state) state=$2; shift 2 ;;
    --root | --confirm-within) shift 2 ;;
    --confirm) confirm=1; shift ;;
    *) spec=$1; shift ;;
  esac
done
mkdir -p "$state"
case $command in
  diff) cmp -s "$spec" "$state/applied.yaml" || exit 5 ;;
  apply)
    if [ -n "$confirm" ]; then
      rm "$state/awaiting"
      echo confirm >>"$state/log"
    elif grep -qx "# stand-in: break $node" "$spec"; then
      echo "apply: $node: its uplink gateway does not answer; rolled back" >&2
      echo "apply rolled-back" >>"$state/log"
      exit 6
    else
      if [ -e "$state/applied.yaml" ]; then cp "$state/applied.yaml" "$state/before.yaml"; fi
      cp "$spec" "$state/applied.yaml"
      touch "$state/awaiting"
      echo apply >>"$state/log"
    fi ;;
  rollback)
    [ -e "$state/awaiting" ] || { echo 'rollback: nothing to roll back' >&2; exit 1; }
    if [ -e "$state/before.yaml" ]; then mv "$state/before.yaml" "$state/applied.yaml"; else rm "$state/applied.yaml"; fi
    rm "$state/awaiting"
    echo rollback >>"$state/log" ;;
  *) echo "stand-in: unknown command $command" >&2; exit 2 ;;
esac
