#!/usr/bin/env bash
# Pod statistics bench (issue 17): `podnet pod stats --no-stream` for N pods (default 100) against
# `podman pod stats --no-stream` for N podman 4 pods in the same run, wall time, CPU (user + sys of
# the command and its children) and peak RSS from GNU time, plus the in-process library call.
# Installs what is missing (scripts/setup.sh --bench, podman's network backend netavark and
# iptables, GNU time), builds, then runs inside scripts/sandbox.sh: the machine's own network
# namespace, nftables and /run/netns are never touched. Writes bench/results/stats.json and .md.
#
# usage: bench/stats/run.sh [--quick] [--pods N] [--rounds N] [--only podnet,podman]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh --bench || echo "bench/stats: scripts/setup.sh failed (see above); continuing with what is installed and built" >&2
pkgs=(netavark iptables time util-linux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench/stats: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi
npx tsc -p tsconfig.json >&2 || echo "bench/stats: tsc reported errors (see above); running the last build" >&2
node scripts/build-cli-bundle.mjs >&2 || echo "bench/stats: the CLI bundle could not be built; the CLI runs from the ES modules" >&2
exec scripts/sandbox.sh env PODNET_RUN_DIR=/run/podnet node dist/bench/stats/main.js "$@"
