#!/usr/bin/env bash
# Every bench suite (`npm run bench`): netlink, CNI (exec and through containerd), bridge networks, pods (with workloads), the cost of container isolation, DNS, pod stats, docker0 side by side. Each suite installs its peers, builds, and runs inside the
# sandbox. Arguments go to each suite, e.g. `npm run bench -- --quick`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/run.sh "$@"
bash bench/cni/run.sh "$@"
bash bench/network/run.sh "$@"
bash bench/pods/run.sh "$@"
bash bench/pods/security.sh "$@"
bash bench/dns/run.sh "$@"
bash bench/stats/run.sh "$@"
bash bench/docker/run.sh "$@"
