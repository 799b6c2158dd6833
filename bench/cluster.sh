#!/usr/bin/env bash
# Starts a 3-node RingKV cluster and a single node on loopback (all --sync periodic:1000), runs
# ../shared/bench/cluster-peers.sh against them and Redis Cluster in one run, and stops the nodes.
# Usage: bench/cluster.sh [ringkv executable] [-- extra serve flags for the cluster nodes, e.g. --read one --write one]
# Extra arguments for cluster-peers.sh go in CLUSTER_PEERS_ARGS (e.g. "--requests 300000 --repeat 3").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$here/artifacts/ringkv/ringkv}
shift || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
dir=$(mktemp -d /tmp/ringkv-cluster-bench.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for i in 0 1 2; do
  "$exe" serve --listen 127.0.0.1:$((7501 + i)) --peer-listen 127.0.0.1:$((17501 + i)) --seeds 127.0.0.1:17501 \
    --node-id node$i --data-dir "$dir/node$i" --sync periodic:1000 "${extra[@]}" > "$dir/node$i.log" 2>&1 &
  pids+=($!)
  sleep 0.5
done
"$exe" serve --listen 127.0.0.1:7510 --data-dir "$dir/single" --sync periodic:1000 > "$dir/single.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  n=$(redis-cli -p 7501 KV.RING 2>/dev/null | grep -c '^NORMAL$' || true)
  [ "$n" = 3 ] && redis-cli -p 7510 ping > /dev/null 2>&1 && break
  sleep 0.5
done
[ "$n" = 3 ] || { echo "cluster did not form: $(tail -3 "$dir"/node*.log)" >&2; exit 1; }
# shellcheck disable=SC2086
bash "$here/../shared/bench/cluster-peers.sh" ${CLUSTER_PEERS_ARGS:-} --ringkv 127.0.0.1:7501,127.0.0.1:7502,127.0.0.1:7503 --single 127.0.0.1:7510
