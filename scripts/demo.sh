#!/usr/bin/env bash
# The demo command (README): installs what is missing, builds, runs `podnet demo`.
# podnet demo puts itself in a throwaway sandbox (own network + mount namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/podnet.js demo "$@"
