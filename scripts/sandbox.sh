#!/usr/bin/env bash
# Runs a command in a throwaway sandbox: a new network namespace and a private mount namespace
# with its own empty /run (so /run/netns is ours alone) and a temporary podnet state dir.
# Nothing it creates can reach the machine's own network, and everything dies with it.
# usage: scripts/sandbox.sh CMD [ARG...]
set -euo pipefail
if [[ "${PODNET_IN_SANDBOX:-}" != 1 ]]; then
  PODNET_OUTER_NETNS=$(readlink /proc/self/ns/net)
  export PODNET_OUTER_NETNS
  exec unshare --net --mount --propagation private --fork -- env PODNET_IN_SANDBOX=1 "$0" "$@"
fi
mount -t tmpfs -o mode=0755 podnet-run /run
mkdir -p /run/netns /run/podnet
state=$(mktemp -d /tmp/podnet-state.XXXXXX)
trap 'rm -rf "$state"' EXIT
export PODNET_STATE_DIR="$state"
ip link set lo up
"$@"
