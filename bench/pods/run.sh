#!/usr/bin/env bash
# Pod bench (issue 4): pod start (`podnet pod run -d`, warm and cold supervisor, with a traced
# breakdown of where the time goes) and pod density (RSS/PSS per pod of the pause, the launcher
# monitors and the supervisor's share), against podman 4 (crun, conmon, catatonit, netavark) in
# the same run. Installs what is missing (scripts/setup.sh --bench, plus netavark, iptables and
# util-linux's nsenter from Debian), builds, then runs everything inside scripts/sandbox.sh (a
# private network + mount namespace with its own /run and state dir): the machine's own network
# namespace, nftables and /run/netns are never touched. PODNET_RUN_DIR=/run/podnet puts the run dir
# on the sandbox's tmpfs /run. Writes bench/results/pods.json and .md.
#
# The workloads part (issue 15, bench/pods/workloads.ts: a Deployment scaled 0 -> N and a rolling
# update of N, against podman kube play) runs after the others, or alone with --only workloads;
# it writes bench/results/pods-workloads.json and .md.
#
# usage: bench/pods/run.sh [--quick] [--only start,breakdown,density,workloads] [--starts N] [--cold N]
#          [--breakdown N] [--pods N] [--podman-pods N] [--replicas N] [--network bridge|none]
set -euo pipefail
cd "$(dirname "$0")/../.."
# setup.sh also builds; a build error in someone else's unfinished file must not stop the bench
bash scripts/setup.sh --bench || echo "bench/pods: scripts/setup.sh failed (see above); continuing with what is installed and built" >&2
# the podman peer: podman, crun, conmon, catatonit come with setup.sh; its default network backend
# (netavark, which uses iptables) and nsenter for the readiness checks come from here
pkgs=(netavark iptables util-linux iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench/pods: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi
# the bench compiles with the rest of the tree (tsconfig includes bench/**/*.ts)
npx tsc -p tsconfig.json >&2 || echo "bench/pods: tsc reported errors (see above); running the last build" >&2
# tsc rewrote dist/src/cli/main.js, which makes the CLI's single-file bundle stale (bin/podnet.js
# would fall back to the slower ES modules): rebuild it and its V8 code cache, as setup.sh does
node scripts/build-cli-bundle.mjs >&2 || echo "bench/pods: the CLI bundle could not be built; the CLI runs from the ES modules" >&2
echo "bench/pods: $(uptime)" >&2
# --only: the parts main.js runs, and whether workloads.js runs (all of them without --only)
main_args=()
main_only=start,breakdown,density
workloads=1
while (($#)); do
  if [[ $1 == --only ]]; then
    only=",${2:?--only needs a value},"
    [[ $only == *,workloads,* ]] || workloads=0
    main_only=$(tr ',' '\n' <<<"${2}" | grep -v -x workloads | paste -sd, || true)
    shift 2
    continue
  fi
  main_args+=("$1")
  shift
done
# the run dir (live pod records, pins, /dev/shm) on the sandbox's private tmpfs /run, as in production
status=0
if [[ -n $main_only ]]; then
  scripts/sandbox.sh env PODNET_RUN_DIR=/run/podnet node dist/bench/pods/main.js --only "$main_only" "${main_args[@]}" || status=$?
fi
if ((workloads)); then
  echo "bench/pods: workloads: $(uptime)" >&2
  scripts/sandbox.sh env PODNET_RUN_DIR=/run/podnet node dist/bench/pods/workloads.js "${main_args[@]}" || status=$?
fi
exit "$status"
