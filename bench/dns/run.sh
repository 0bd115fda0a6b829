#!/usr/bin/env bash
# DNS bench (issue 16): questions/s and latency from a pod to podnet's responder, to aardvark-dns,
# and to the upstream alone; responder RSS. Runs inside scripts/sandbox.sh; results in
# bench/results/dns.json and dns.md. usage: bench/dns/run.sh [--count N] [--concurrency N]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh --bench
npx tsc -p tsconfig.json
exec scripts/sandbox.sh node dist/bench/dns/main.js "$@"
