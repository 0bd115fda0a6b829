#!/usr/bin/env bash
# Overlay bench (issue 14): convergence, 1,000 synthetic nodes, node loss, data plane, agent cost.
# Runs inside scripts/sandbox.sh; results in bench/results/overlay.json and overlay.md.
# usage: bench/overlay/run.sh [--joins N] [--synthetic N] [--iperf-runs N] [--iperf-seconds S]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh --bench
npx tsc -p tsconfig.json
exec scripts/sandbox.sh node dist/bench/overlay/main.js "$@"
