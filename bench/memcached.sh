#!/usr/bin/env bash
# Issue 14's memcached benchmark: memcslap (libmemcached-tools) set and get against memcached 1.6 from Debian and a
# running RingKV node's memcached port (--memcached-listen), round robin, median of --repeat runs: one client (one
# request at a time, as redis-benchmark -P 1) and --clients concurrent clients.
# Usage: bench/memcached.sh --ringkv HOST:PORT [--requests N] [--clients C] [--repeat K]
#   --requests N  requests per client thread (memcslap --execute-number; default 20000; the many-client runs use N/4)
set -euo pipefail
export LC_ALL=C
requests=20000 clients=50 repeat=3 ringkv=''
while (($#)); do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --ringkv) ringkv=$2; shift 2 ;;
    *) echo "memcached.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $ringkv ]] || { echo "memcached.sh: --ringkv HOST:PORT (the node's memcached port) is required" >&2; exit 2; }
log() { echo "memcached.sh: $*" >&2; }
command -v memcached >/dev/null && command -v memcslap >/dev/null ||
  { log "needs memcached and memcslap (apt-get install memcached libmemcached-tools)"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringkv-mc.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { local p; for ((p = 20000 + RANDOM % 12000; ; p++)); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
up() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

port=$(free_port)
memcached -l 127.0.0.1 -p "$port" -m 2048 -U 0 -u "$(id -un)" >"$tmp/memcached.log" 2>&1 & pids+=($!)
for _ in {1..100}; do up "127.0.0.1:$port" && break; sleep 0.1; done
declare -A addr=([memcached]=127.0.0.1:$port [ringkv]=$ringkv)
up "$ringkv" || { log "nothing listens on --ringkv $ringkv"; exit 1; }
servers=(memcached ringkv)
log "memcached $(memcached -V | cut -d' ' -f2) on $port, ringkv on $ringkv; load average $(cut -d' ' -f1-3 /proc/loadavg)"

raw=$tmp/raw.csv
# memcslap prints "Time to <test> <keys> keys by <c> threads: <s> seconds."; the rate is keys / seconds.
for ((r = 1; r <= repeat; r++)); do
  for s in "${servers[@]}"; do
    for c in 1 "$clients"; do
      n=$((c == 1 ? requests : requests / 4))
      for t in set get; do
        memcslap -s "${addr[$s]}" -t "$t" -c "$c" -e "$n" 2>&1 |
          awk -v s="$s" -v t="$t" -v c="$c" '$1 == "Time" && $3 == t { printf "%s,%s,%s,%.0f\n", s, t, c, $4 / $(NF - 1) }' |
          tee -a "$raw" >&2
      done
    done
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.0f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F, -v s="$1" -v t="$2" -v c="$3" '$1 == s && $2 == t && $3 == c { print $4 }' "$raw" | median; }
echo server,test,clients,ops_per_s_median
for s in "${servers[@]}"; do for c in 1 "$clients"; do for t in set get; do echo "$s,$t,$c,$(col "$s" "$t" "$c")"; done; done; done
for c in 1 "$clients"; do for t in set get; do
  printf 'ratio,%s,%s,%s\n' "$t" "$c" "$(awk -v a="$(col ringkv "$t" "$c")" -v b="$(col memcached "$t" "$c")" 'BEGIN { printf "%.3f", a / b }')"
done; done
echo "(ratio: ringkv/memcached)"
