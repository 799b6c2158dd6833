#!/usr/bin/env bash
# Issue 13's autoscale scenario outside CI, with a larger data set: ringkv cluster up --nodes 3 on loopback, a write-once
# QUORUM workload, ringkv autoscale (--min 3 --max 5, marks set from the measured load) grows the cluster to 5 and,
# once the load is throttled, shrinks it back to 3; then every acknowledged write is read back at QUORUM. It runs the
# test CI runs (tests/RingKV.Cli.Tests, AutoscaleSystemTests) with RINGKV_AUTOSCALE_* set, against the published
# binary, and prints the same table: nodes over time, time per change, client operations failed, bytes streamed per
# change against the ideal (data set x N/(n+1) for a join, x N/n for a leave).
#   bash bench/autoscale.sh [--keys 200000] [--value-bytes 512] [--phase-seconds 240]
# Bounded: each phase (grow, shrink) fails past --phase-seconds. Exits non-zero when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
keys=200000
value_bytes=512
phase_seconds=240
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys=$2; shift 2 ;;
    --value-bytes) value_bytes=$2; shift 2 ;;
    --phase-seconds) phase_seconds=$2; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
dotnet publish src/RingKV.Cli -c Release -o artifacts/ringkv 2>&1 | tail -1
dotnet build tests/RingKV.Cli.Tests -c Release 2>&1 | tail -1
report=$(mktemp)
trap 'rm -f "$report"' EXIT
export RINGKV_SERVER_DLL=$PWD/artifacts/ringkv/ringkv.dll
export RINGKV_AUTOSCALE_PRELOAD=$keys RINGKV_AUTOSCALE_VALUE_BYTES=$value_bytes RINGKV_AUTOSCALE_PHASE_SECONDS=$phase_seconds
export RINGKV_AUTOSCALE_REPORT=$report
status=0
(cd tests/RingKV.Cli.Tests && timeout $((phase_seconds * 2 + 300)) dotnet bin/Release/net10.0/RingKV.Cli.Tests.dll \
  -class RingKV.Cli.Tests.Scaling.AutoscaleSystemTests -noColor) || status=$?
cat "$report"
exit $status
