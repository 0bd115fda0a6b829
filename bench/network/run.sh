#!/usr/bin/env bash
# Bridge-network bench (issue 3): pod attach, pod removal / detach / gc and the data plane;
# podnet against the CNI reference plugins (bridge + host-local + portmap), an `ip -batch` + `nft`
# script and pyroute2, all measured in the same run. Installs the peers when missing, builds, then
# runs everything inside scripts/sandbox.sh (a private network + mount namespace with its own /run):
# the machine's own network namespace, /run/netns and iptables/nf_tables state are never touched.
# Prints the tables with ratios and target pass/fail; writes bench/results/network.json and .md.
#
# usage: bench/network/run.sh [--quick] [--only pods,dataplane,profile] [--podnet-runs N]
#          [--peer-runs N] [--peer-runs-1000 N] [--cni-runs N] [--cni-n N] [--iperf-secs S] [--iperf-runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."

# peers: the CNI reference plugins and iptables (iptables-nft) for them, pyroute2 for Debian's
# /usr/bin/python3 (not the pyenv python first in PATH), iperf3, iproute2 and nft for the script
pkgs=(containernetworking-plugins iptables python3-pyroute2 iperf3 iproute2 nftables util-linux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench/network: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi
[[ -d node_modules/koffi ]] || npm ci --no-audit --no-fund >&2
# the bench compiles with the rest of the tree (tsconfig includes bench/**/*.ts)
npx tsc -p tsconfig.json >&2 || echo "bench/network: tsc reported errors (see above); running the last build" >&2
echo "bench/network: $(uptime)" >&2
exec scripts/sandbox.sh node dist/bench/network/main.js "$@"
