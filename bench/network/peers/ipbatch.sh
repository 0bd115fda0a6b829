#!/usr/bin/env bash
# Peer: the pod lifecycle scripted with iproute2 and nft, one `ip -batch` per namespace side and
# one `nft` per pod (2 x ip + 1 x nft per ADD), doing the same work as podnet's attach:
#   host:  ip -batch  netns add; veth with the pod end created in the pod (eth0) and the host end
#                     enslaved at creation; addrgenmode none + hairpin on the host end; up
#   pod:   ip -n POD -batch  lo up; addrgenmode none on eth0 (no IPv6 link-local, as podnet: its
#                     DAD/MLD packets would be flooded to every bridge port); eth0 up; address;
#                     default route via the gateway
#   nat:   nft -e -a  one DNAT rule for the published port (its handle kept for the DEL);
#                     masquerade is per network, set up once (like podnet's)
# Addresses come from the pod index (no IPAM state: the script's one shortcut). DEL per pod:
# nft delete rule by handle; ip -batch link del (waits for the kernel's RCU grace period) +
# netns del. Run it inside the bench's host namespace (nsenter --net=...).
# Prints one JSON line (bench/network/lib.ts PodRun); times are wall ms from bash's EPOCHREALTIME.
#
# usage: ipbatch.sh N PREFIX HOSTPORT_BASE
set -euo pipefail
n=$1 prefix=$2 portbase=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ms() { # elapsed ms between two EPOCHREALTIME values
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'
}
cpu_ms() { # user+sys of this shell and its children so far (bash `times`, run in this shell, not a subshell)
  times >"$tmp/times"
  awk '{ gsub(/[ms]/, " "); split($0, f, " "); t += (f[1] * 60 + f[2] + f[3] * 60 + f[4]) * 1000 } END { print t }' "$tmp/times"
}
addr() { # 10.201.0.2 ... for pod i (1-based)
  local k=$(($1 + 1))
  echo "10.201.$((k >> 8)).$((k & 255))"
}

t0=$EPOCHREALTIME
ip -batch - <<EOF
link add br0 type bridge stp_state 0 forward_delay 0
link set br0 up
addr add 10.201.0.1/16 dev br0
EOF
sysctl -qw net.ipv4.ip_forward=1
nft -f - <<'EOF'
table inet bench {
  chain prerouting { type nat hook prerouting priority dstnat; fib daddr type local jump hostports; }
  chain output { type nat hook output priority -100; fib daddr type local jump hostports; }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    ip saddr 10.201.0.0/16 ip daddr != 224.0.0.0/4 oifname != "br0" masquerade
    oifname "br0" ct status dnat ip saddr 10.201.0.0/16 masquerade
  }
  chain hostports { }
}
EOF
setup=$(ms "$t0" "$EPOCHREALTIME")

declare -a add del handles
cpu_ms >"$tmp/c0"
for ((i = 1; i <= n; i++)); do
  ns=$prefix$i ip4=$(addr "$i") hv=pv$i port=$((portbase + i - 1))
  t0=$EPOCHREALTIME
  ip -batch - <<EOF
netns add $ns
link add $hv mtu 1500 master br0 type veth peer name eth0 mtu 1500 netns $ns
link set dev $hv addrgenmode none
link set dev $hv type bridge_slave hairpin on
link set dev $hv up
EOF
  ip -n "$ns" -batch - <<EOF
link set lo up
link set dev eth0 addrgenmode none
link set eth0 up
addr add $ip4/16 dev eth0
route add default via 10.201.0.1 dev eth0
EOF
  out=$(nft -e -a -f - <<<"add rule inet bench hostports tcp dport $port dnat ip to $ip4:80")
  [[ $out =~ \#\ handle\ ([0-9]+) ]] || { echo "no rule handle in: $out" >&2; exit 1; }
  handles[i]=${BASH_REMATCH[1]}
  t1=$EPOCHREALTIME
  add+=("$t0 $t1")
done
cpu_ms >"$tmp/c1"
rules=$(nft -a list chain inet bench hostports | grep -c 'dnat ip to' || true)
[[ $rules -eq $n ]] || { echo "expected $n DNAT rules, found $rules" >&2; exit 1; }
for ((i = 1; i <= n; i++)); do
  t0=$EPOCHREALTIME
  nft delete rule inet bench hostports handle "${handles[i]}"
  ip -batch - <<EOF
link del pv$i
netns del $prefix$i
EOF
  t1=$EPOCHREALTIME
  del+=("$t0 $t1")
done
cpu_ms >"$tmp/c2"; c0=$(<"$tmp/c0") c1=$(<"$tmp/c1") c2=$(<"$tmp/c2")
nft delete table inet bench
ip link del br0

spans() { # "t0 t1" pairs (seconds) -> comma-separated ms, one awk for all
  printf '%s\n' "$@" | awk '{ printf "%s%.3f", (NR > 1 ? "," : ""), ($2 - $1) * 1000 }'
}
printf '{"tool":"ip-batch","n":%d,"teardown":"del","setupMs":%s,"add":[%s],"del":[%s],"addCpuMs":%s,"delCpuMs":%s,"procsPerAdd":3}\n' \
  "$n" "$setup" "$(spans "${add[@]}")" "$(spans "${del[@]}")" "$(awk -v a="$c0" -v b="$c1" 'BEGIN{print b-a}')" "$(awk -v a="$c1" -v b="$c2" 'BEGIN{print b-a}')"
