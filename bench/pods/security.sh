#!/usr/bin/env bash
# The cost of container isolation (issue 11): pod start and per-pod memory for privileged,
# default and hostUsers: false pods (bench/pods/security.ts), inside scripts/sandbox.sh.
# usage: bench/pods/security.sh [--starts N] [--pods P]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p tsconfig.json >&2
echo "bench/pods/security: $(uptime)" >&2
exec scripts/sandbox.sh node dist/bench/pods/security.js "$@"
