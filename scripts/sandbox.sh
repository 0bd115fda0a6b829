#!/usr/bin/env bash
# Runs a command in a throwaway sandbox that owns everything the command creates:
#   - a new network namespace (nothing it does can reach the machine's own network),
#   - a new PID namespace with /proc remounted: the sandbox's init is this script, and when it
#     ends, or when the command it waits for is killed (even kill -9), the kernel kills every
#     process left in the sandbox: servers, pause processes, namespace holders;
#   - kill-child semantics both ways: unshare SIGKILLs the sandbox when it dies, and unshare
#     itself gets SIGKILL when the process that started it dies (prctl PR_SET_PDEATHSIG, through
#     setpriv), so killing the caller, unshare or the sandbox's init ends all of it;
#   - a private mount namespace with an empty tmpfs on /run (so /run/netns is the sandbox's own)
#     holding the podnet state dir (PODNET_STATE_DIR) and TMPDIR: temporary state dies with the
#     sandbox's last process and never lands on the real /tmp (--private-tmp also mounts a tmpfs
#     over /tmp itself, for code that hard-codes /tmp; files passed in through /tmp are then hidden).
# PODNET_OUTER_NETNS records the network namespace the sandbox was started from: podnet's guard
# (src/testing/guard.ts) uses it to prove the command runs elsewhere.
#
# usage: scripts/sandbox.sh [--rootless] [--private-tmp] [--] CMD [ARG...]
#   --rootless      also a new user namespace mapping the caller to root (unshare --user
#                   --map-root-user): works without root where unprivileged user namespaces are
#                   allowed (docs/testing.md says what works that way and what does not)
set -euo pipefail
if [[ ${1:-} != --podnet-sandbox-inner ]]; then
  userns=()
  inner=()
  while (($#)); do
    case $1 in
      --rootless) userns=(--user --map-root-user); shift ;;
      --private-tmp) inner+=(--private-tmp); shift ;;
      --) shift; break ;;
      -*) echo "sandbox.sh: unknown option $1 (usage: sandbox.sh [--rootless] [--private-tmp] [--] CMD [ARG...])" >&2; exit 2 ;;
      *) break ;;
    esac
  done
  if (($# == 0)); then echo "usage: sandbox.sh [--rootless] [--private-tmp] [--] CMD [ARG...]" >&2; exit 2; fi
  if ((${#userns[@]} == 0)) && [[ $(id -u) -ne 0 ]]; then
    echo "sandbox.sh: needs root (CAP_SYS_ADMIN for namespaces), or --rootless (user namespaces)" >&2
    exit 1
  fi
  PODNET_OUTER_NETNS=$(readlink /proc/self/ns/net)
  export PODNET_OUTER_NETNS
  exec setpriv --pdeathsig KILL -- unshare "${userns[@]}" --net --mount --pid --mount-proc --propagation private \
    --fork --kill-child -- "$0" --podnet-sandbox-inner "${inner[@]}" -- "$@"
fi
shift
private_tmp=0
while [[ $1 != -- ]]; do
  case $1 in --private-tmp) private_tmp=1 ;; esac
  shift
done
shift
mount -t tmpfs -o mode=0755 podnet-run /run
mkdir -p /run/netns /run/podnet /run/podnet-state /run/podnet-tmp
chmod 1777 /run/podnet-tmp
if ((private_tmp)); then mount -t tmpfs -o mode=1777 podnet-tmp /tmp; fi
export PODNET_STATE_DIR=/run/podnet-state PODNET_IN_SANDBOX=1 TMPDIR=/run/podnet-tmp
ip link set lo up
# not exec: this shell stays the sandbox's init, so the command's death (any signal) ends the
# sandbox and the kernel kills whatever the command left running
set +e
"$@"
rc=$?
exit $rc
