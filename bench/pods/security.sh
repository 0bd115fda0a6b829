#!/usr/bin/env bash
# The cost of container isolation (issue 11): pod start and per-pod memory for privileged,
# default and hostUsers: false pods (bench/pods/security.ts), inside scripts/sandbox.sh.
# Part of `npm run bench` (scripts/bench.sh, after bench/pods/run.sh, which installs the peers).
# usage: bench/pods/security.sh [--quick] [--starts N] [--pods P]   (--quick: 5 starts, 3 pods;
# the other suites' options are ignored)
set -euo pipefail
cd "$(dirname "$0")/../.."
args=()
while (($#)); do
  case $1 in
    --quick) args+=(--starts 5 --pods 3) ;;
    --starts|--pods) args+=("$1" "${2:?$1 needs a value}"); shift ;;
    *) ;;
  esac
  shift
done
npx tsc -p tsconfig.json >&2 || echo "bench/pods/security: tsc reported errors (see above); running the last build" >&2
echo "bench/pods/security: $(uptime)" >&2
exec scripts/sandbox.sh node dist/bench/pods/security.js "${args[@]}"
