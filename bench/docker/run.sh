#!/usr/bin/env bash
# docker0 side by side (issue 12): Debian's Docker 20.10 and podnet on one node each, in one run:
# network create, container start p50/p95, memory per container, iperf3 pod-to-pod and through
# NAT, and the semantics matrix (bench/docker/main.ts). Installs what is missing (scripts/setup.sh
# --bench, plus docker.io and iptables from Debian), builds, then runs inside scripts/sandbox.sh:
# dockerd runs with its own data root, exec root and socket in a namespace of the sandbox (its
# iptables rules exist there only), never the machine's Docker. Writes bench/docker/results/.
#
# usage: bench/docker/run.sh [--quick] [--containers N]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh --bench
pkgs=(docker.io iptables iperf3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench/docker: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi
npx tsc -p tsconfig.json
# tsc made the CLI's single-file build stale (bin/podnet.js would fall back to the ES modules)
node scripts/build-cli-bundle.mjs >&2
exec scripts/sandbox.sh node dist/bench/docker/main.js "$@"
