#!/usr/bin/env bash
# Netlink foundation bench (issue 2): podnet vs pyroute2 vs iproute2 for dumps, veth churn and
# CLI start-up, with peak RSS. Installs the peers when missing (python3-pyroute2, hyperfine, ...
# through scripts/setup.sh --bench), builds, then runs everything inside scripts/sandbox.sh (a
# private network + mount namespace with its own /run/netns): the machine's own network
# namespace is never touched. Results: bench/results/netlink.json and netlink.md.
#
# usage: bench/run.sh [--quick] [--pairs N] [--runs N] [--only dump,churn,cli]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench
# util-linux nsenter and GNU time run the peers inside the bench namespaces and measure their RSS
for p in util-linux time; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >&2; }
  fi
done
# the bench compiles with the rest of the tree (tsconfig includes bench/**/*.ts)
npx tsc -p tsconfig.json # setup.sh builds when sources are newer; this makes sure the bench is current
exec scripts/sandbox.sh node dist/bench/netlink/main.js "$@"
