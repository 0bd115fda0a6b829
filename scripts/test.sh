#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, then runs every suite
# with mocha inside the sandbox (scripts/sandbox.sh). Extra arguments go to mocha, e.g.
#   npm test -- --grep veth
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PODNET_TEST_SUMMARY=${PODNET_TEST_SUMMARY:-$(mktemp)}
set +e
scripts/sandbox.sh node_modules/.bin/mocha \
  --reporter test/support/reporter.cjs \
  --require dist/test/support/root-hooks.js \
  --timeout 60000 \
  'dist/test/unit/**/*.test.js' 'dist/test/kernel/**/*.test.js' "$@"
rc=$?
set -e
exit $rc
