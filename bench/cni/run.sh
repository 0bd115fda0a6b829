#!/usr/bin/env bash
# CNI bench (issues 5, 12): podnet-cni through its executable (with and without `podnet cni serve`)
# vs the reference bridge + host-local + portmap chain, ADD/DEL p50 and p95 over 200 pods, plus
# where podnet-cni's start-up goes; then both chains through containerd's CRI (RunPodSandbox,
# StopPodSandbox, RemovePodSandbox p50, containerd.ts).
# Installs the peers when missing (containernetworking-plugins, via scripts/setup.sh --bench),
# builds, then runs inside scripts/sandbox.sh: the plugins' bridges, veths and nf_tables/iptables
# rules live in the sandbox's namespaces only. Results: bench/cni/results/cni.{json,md} and cri.{json,md}.
#
# usage: bench/cni/run.sh [--quick] [--pods N] [--startup-runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh --bench
npx tsc -p tsconfig.json
scripts/sandbox.sh node dist/bench/cni/main.js "$@"
cri=()
[[ " $* " == *" --quick "* ]] && cri+=(--quick)
exec scripts/sandbox.sh node dist/bench/cni/containerd.js "${cri[@]}"
