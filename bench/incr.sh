#!/usr/bin/env bash
# Issue 14's INCR benchmark: redis-benchmark -t incr at -P 1 and -P 16 against Redis (AOF everysec, as
# ../shared/bench/peers.sh starts it), Garnet (when peers.sh has installed it) and a running RingKV node, round robin,
# median of --repeat runs. peers.sh itself runs only SET and GET, hence this script.
# Usage: bench/incr.sh --ringkv HOST:PORT [--requests N] [--requests-p1 N] [--repeat K]
set -euo pipefail
export LC_ALL=C
requests=1000000 requests_p1='' repeat=3 ringkv=''
while (($#)); do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --requests-p1) requests_p1=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --ringkv) ringkv=$2; shift 2 ;;
    *) echo "incr.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $ringkv ]] || { echo "incr.sh: --ringkv HOST:PORT is required" >&2; exit 2; }
requests_p1=${requests_p1:-$((requests / 5))}
log() { echo "incr.sh: $*" >&2; }
command -v redis-server >/dev/null || { log "needs redis-server (apt-get install redis-server)"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringkv-incr.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { local p; for ((p = 20000 + RANDOM % 12000; ; p++)); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
ping_ok() { [[ $(redis-cli -h "${1%:*}" -p "${1##*:}" ping 2>/dev/null) == PONG ]]; }
declare -A addr
servers=()
launch() { # NAME PORT COMMAND...
  local name=$1 port=$2; shift 2
  "$@" >"$tmp/$name.log" 2>&1 & pids+=($!)
  for _ in {1..300}; do ping_ok "127.0.0.1:$port" && { servers+=("$name"); addr[$name]=127.0.0.1:$port; return; }; sleep 0.1; done
  log "$name did not start"; cat "$tmp/$name.log" >&2; return 1
}

mkdir "$tmp/redis"; port=$(free_port)
launch redis "$port" redis-server --bind 127.0.0.1 --port "$port" --dir "$tmp/redis" --save '' --appendonly yes \
  --appendfsync everysec --auto-aof-rewrite-percentage 0
garnet=${PEERS_CACHE:-$HOME/.cache/ringkv-peers}/garnet-${GARNET_VERSION:-2.2.8}/garnet-server
if [[ -x $garnet ]]; then
  mkdir "$tmp/garnet"; port=$(free_port)
  launch garnet "$port" "$garnet" -q --bind 127.0.0.1 --device-type RandomAccess --port "$port" \
    --checkpointdir "$tmp/garnet" --aof --aof-commit-freq 1000 || log "measuring without garnet"
else
  log "Garnet not installed (run ../shared/bench/peers.sh once): measuring Redis alone"
fi
ping_ok "$ringkv" || { log "no PONG from --ringkv $ringkv"; exit 1; }
servers+=(ringkv); addr[ringkv]=$ringkv
log "servers: ${servers[*]}; load average $(cut -d' ' -f1-3 /proc/loadavg)"

rb() { local a=${addr[$1]}; shift; redis-benchmark -h "${a%:*}" -p "${a##*:}" -r 1000000 -c 50 "$@"; }
raw=$tmp/raw.csv
for ((r = 1; r <= repeat; r++)); do
  for s in "${servers[@]}"; do
    for p in 1 16; do
      rb "$s" -t incr -n $((p == 1 ? requests_p1 : requests)) -P "$p" --csv |
        awk -F, -v s="$s" -v p="$p" '{ gsub(/"/, "") } $1 != "test" { print s "," tolower($1) "," p "," $2 "," $5 "," $7 }' |
        tee -a "$raw" >&2
    done
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.6f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F, -v s="$1" -v p="$2" -v c="$3" '$1 == s && $3 == p { print $c }' "$raw" | median; }
echo server,test,pipeline,rps_median,p50_ms,p99_ms
for s in "${servers[@]}"; do
  for p in 1 16; do printf '%s,incr,%s,%.0f,%.3f,%.3f\n' "$s" "$p" "$(col "$s" "$p" 4)" "$(col "$s" "$p" 5)" "$(col "$s" "$p" 6)"; done
done
for p in 1 16; do
  k=$(col ringkv "$p" 4)
  printf 'ratio,incr,%s,%s,%s\n' "$p" "$(awk -v a="$k" -v b="$(col redis "$p" 4)" 'BEGIN { printf "%.3f", a / b }')" \
    "$([[ -v addr[garnet] ]] && awk -v a="$k" -v b="$(col garnet "$p" 4)" 'BEGIN { printf "%.3f", a / b }' || echo NA)"
done
echo "(ratio columns: ringkv/redis, ringkv/garnet)"
