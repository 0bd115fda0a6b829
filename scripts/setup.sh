#!/usr/bin/env bash
# Installs what podnet's commands, tests and benchmarks need, then builds. Idempotent and quiet
# when everything is already there. Usage: scripts/setup.sh [--bench]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: oracles and peers for tests (iproute2, nftables, util-linux's unshare/lsns),
# the pod runtime's pause and test rootfs (catatonit, busybox-static), gcc + libc6-dev for the
# container launcher (src/runtime/launcher/podnet-launch.c, built static on first use, with musl-gcc
# from musl-tools for a ~70 kB monitor per container instead of glibc's ~700 kB),
# and bench peers; strace lets a CLI test see which files bin/podnet.js loads (bundle or modules).
pkgs=(iproute2 nftables util-linux busybox-static catatonit socat procps gcc libc6-dev musl-tools strace)
# the bandwidth and priority tests measure real rates between namespaces
pkgs+=(iperf3)
# podnet/testing's capture(): its pcap files must parse with tcpdump -r (test/kernel/testing/faults.test.ts)
pkgs+=(tcpdump)
# the CNI plugin's tests: a real CNI client (podman 4's CNI backend) and reference plugins to chain with
pkgs+=(podman crun conmon containernetworking-plugins)
# the overlay's store (docs/overlay.md): real etcd members run inside the test sandbox
pkgs+=(etcd-server iputils-ping)
# direct routing's test captures on the underlay: no VXLAN packet crosses it
pkgs+=(tcpdump)
# pod stats' disk test makes an ext4 on a loop device of its own (mkfs.ext4; losetup is in mount)
pkgs+=(e2fsprogs mount)
# the Kubernetes node path: containerd's CRI (1.6, CRI plugin built in) with runc, run by the tests in their sandbox
pkgs+=(containerd runc)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(python3-pyroute2 containernetworking-plugins hyperfine aardvark-dns)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then echo "setup: need root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm packages
if [[ ! -d node_modules/koffi || package.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages" >&2
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
fi

# build when any source is newer than the last build
stamp=dist/.build-stamp
if [[ ! -f $stamp ]] || [[ -n "$(find src test bench tsconfig.json package.json -newer "$stamp" -name '*.ts' -o -newer "$stamp" -name '*.json' 2>/dev/null | head -1)" ]]; then
  echo "setup: building (tsc)" >&2
  npx tsc -p tsconfig.json
  # the output of a source that was moved or deleted would still be picked up by the test globs
  for d in dist/src dist/test dist/bench dist/docs; do
    [[ -d $d ]] || continue
    find "$d" -name '*.js' -print0 | while IFS= read -r -d '' f; do
      src=${f#dist/}
      [[ -f ${src%.js}.ts ]] || rm -f "$f" "${f%.js}.d.ts" "$f.map"
    done
  done
  mkdir -p dist && touch "$stamp"
fi
# the single-file builds and code caches of the CLI (src/cli/bundle.ts) and of the library's
# subpaths (src/cli/library-bundle.ts); bin/podnet.js and dist/lib/registry.js fall back to the
# ES modules when a bundle is missing or older than them. A bundle that cannot be built is a bug
# in podnet (the bundler refuses module shapes it cannot translate faithfully): setup fails on it.
if [[ ! -f dist/cli/podnet.cjs || dist/src/cli/main.js -nt dist/cli/podnet.cjs || ! -f dist/lib/podnet.cjs || dist/src/index.js -nt dist/lib/podnet.cjs ]]; then
  node scripts/build-cli-bundle.mjs
fi
