#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, then runs the unit suite
# without root and outside the sandbox (it must need neither), and the kernel suite inside the
# sandbox (scripts/sandbox.sh). Extra arguments go to both mocha runs, e.g.
#   npm test -- --grep veth
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PODNET_TEST_SUMMARY=${PODNET_TEST_SUMMARY:-$(mktemp)}
unit_summary=$(mktemp)
kernel_summary=$(mktemp)
chmod 666 "$unit_summary"
trap 'rm -f "$unit_summary" "$kernel_summary"' EXIT

# as nobody when this is root and nobody can read the checkout; else as this user
unprivileged=()
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null &&
  setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -r dist/test/support/reporter.cjs 2>/dev/null; then
  unprivileged=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi

set +e
"${unprivileged[@]}" env HOME=/tmp PODNET_TEST_SUMMARY="$unit_summary" node_modules/.bin/mocha \
  --reporter test/support/reporter.cjs \
  --timeout 60000 \
  'dist/test/unit/**/*.test.js' "$@"
unit_rc=$?
PODNET_TEST_SUMMARY="$kernel_summary" scripts/sandbox.sh node_modules/.bin/mocha \
  --reporter test/support/reporter.cjs \
  --require dist/test/support/root-hooks.js \
  --timeout 60000 \
  'dist/test/kernel/**/*.test.js' "$@"
kernel_rc=$?
set -e

read -r up uf us < "$unit_summary" 2>/dev/null || { up=0; uf=1; us=0; }
read -r kp kf ks < "$kernel_summary" 2>/dev/null || { kp=0; kf=1; ks=0; }
echo "$((up + kp)) $((uf + kf)) $((us + ks))" > "$PODNET_TEST_SUMMARY"
echo "tests: $((up + kp)) passed, $((uf + kf)) failed, $((us + ks)) skipped (unit: $up/$uf, kernel: $kp/$kf)"
[[ $unit_rc -eq 0 && $kernel_rc -eq 0 ]]
