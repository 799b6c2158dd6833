#!/usr/bin/env bash
# Breaks the storage engine on purpose, one durability step at a time, and checks that the tests notice.
#
# Each mutation is applied alone to a scratch copy of the working tree (tracked and untracked-but-not-ignored
# files, so uncommitted changes are tested too), the copy is built and only the test classes that claim to
# catch the mutation run. A mutation the tests still pass on SURVIVED: the tests do not check what they claim.
# A mutation whose text is not found exactly once (the code moved on) fails loudly rather than counting as
# killed; update its OLD text then. Run before resolving anything that touches durability (README, Testing).
#
# Usage: scripts/mutations.sh [--list] [name ...]    (no names: every mutation)
# Exit status: 0 when every mutation was killed; 1 when one survived, did not apply or did not build.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tests_project="tests/RingKV.Storage.Tests"

# name | file | exact text of one line (found exactly once in the file) | its replacement | test classes (space separated; tests/RingKV.Storage.Tests/Engine/ unless folder-qualified)
mutations=(
    "group-commit-acks-before-fsync|src/RingKV.Storage/Commit/CommitPipeline.cs|                if (sync)|                if (sync && _group.Count == 1)|GroupCommitTests PowerLossTests Commit.CommitPipelineTests"
    "closed-log-segment-not-fsynced|src/RingKV.Storage/Log/CommitLogWriter.cs|            if (HasUnsynced)|            if (HasUnsynced && Number < 0)|PowerLossTests"
    "manifest-rewritten-in-place|src/RingKV.Storage/Versions/Manifest.cs|var temp = Path.Combine(directory, FileNames.ManifestTemp);|var temp = Path.Combine(directory, FileNames.Manifest);|CrashPointTests"
    "manifest-not-fsynced|src/RingKV.Storage/Versions/Manifest.cs|            file.Sync();|            // file.Sync();|CrashPointTests"
    "no-directory-fsync-after-manifest-rename|src/RingKV.Storage/Versions/Manifest.cs|        fs.SyncDirectory(directory);|        // fs.SyncDirectory(directory);|CrashPointTests"
    "no-directory-fsync-for-new-log-segment|src/RingKV.Storage/StorageEngine.Memtables.cs|        _fs.SyncDirectory(_directory); // the new segment's name|        // _fs.SyncDirectory(_directory); // the new segment's name|CrashPointTests"
    "flushed-table-not-fsynced|src/RingKV.Storage/StorageEngine.Flush.cs|            file.Sync();|            // file.Sync();|CrashPointTests"
    "no-directory-fsync-for-flushed-table|src/RingKV.Storage/StorageEngine.Flush.cs|        _fs.SyncDirectory(_directory); // the table's name|        // _fs.SyncDirectory(_directory); // the table's name|CrashPointTests"
    "no-directory-fsync-for-replayed-tables|src/RingKV.Storage/StorageEngine.Recovery.cs|            _fs.SyncDirectory(_directory); // the replayed tables' names|            // _fs.SyncDirectory(_directory); // the replayed tables' names|CrashPointTests"
    "compaction-output-not-fsynced|src/RingKV.Storage/StorageEngine.Compaction.cs|        output.File.Sync();|        // output.File.Sync();|CrashPointTests"
    "no-directory-fsync-for-compaction-outputs|src/RingKV.Storage/StorageEngine.Compaction.cs|        _fs.SyncDirectory(_directory); // the outputs' names|        // _fs.SyncDirectory(_directory); // the outputs' names|CrashPointTests"
    "block-cache-undercharges-blocks|src/RingKV.Storage/Tables/Block.cs|    public int ChargeBytes => Data.Length + 96;|    public int ChargeBytes => (Data.Length / 4) + 96;|LargerThanMemoryTests"
    "tombstones-dropped-at-non-base-levels|src/RingKV.Storage/StorageEngine.Compaction.cs|                else if (sequence <= smallestSnapshot && IsBaseLevelForKey(pick, ordered))|                else if (sequence <= smallestSnapshot && (InternalKey.Kind(key) == ValueKind.Delete \|\| IsBaseLevelForKey(pick, ordered)))|ModelTests ShrinkingModelTests"
    "expired-records-dropped-at-non-base-levels|src/RingKV.Storage/StorageEngine.Compaction.cs|                else if (sequence <= smallestSnapshot && IsBaseLevelForKey(pick, ordered))|                else if (sequence <= smallestSnapshot && (InternalKey.Kind(key) == ValueKind.PutWithExpiry \|\| IsBaseLevelForKey(pick, ordered)))|ModelTests"
)

field() { # field LINE N: the Nth |-separated field, with \| read as |
    local line="${1//\\|/$'\x01'}"
    IFS='|' read -r -a parts <<<"$line"
    local value="${parts[$2]}"
    printf '%s' "${value//$'\x01'/|}"
}

if [ "${1:-}" = "--list" ]; then
    for m in "${mutations[@]}"; do
        printf '%-45s %s\n' "$(field "$m" 0)" "$(field "$m" 4)"
    done
    exit 0
fi

selected=("$@")
wanted() {
    [ ${#selected[@]} -eq 0 ] && return 0
    local s
    for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

for s in "${selected[@]}"; do
    found=0
    for m in "${mutations[@]}"; do [ "$(field "$m" 0)" = "$s" ] && found=1; done
    [ $found -eq 1 ] || { echo "no mutation named '$s' (scripts/mutations.sh --list)"; exit 1; }
done

scratch="$(mktemp -d "${TMPDIR:-/tmp}/ringkv-mutations.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
echo "== scratch copy of the working tree in $scratch"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -f "$f" ] && printf '%s\0' "$f"
done | xargs -0 cp --parents -t "$scratch")
cd "$scratch"

build() {
    dotnet build "$tests_project" -c Release -nologo -clp:ErrorsOnly </dev/null >"$scratch/build.log" 2>&1
}

run_tests() { # run_tests CLASS...: 0 when every test passed
    local args=()
    local c
    for c in "$@"; do
        case $c in
            *.*) args+=(--filter-class "RingKV.Storage.Tests.$c") ;; # a folder-qualified class, e.g. Commit.CommitPipelineTests
            *) args+=(--filter-class "RingKV.Storage.Tests.Engine.$c") ;;
        esac
    done
    timeout 1200 dotnet test --project "$tests_project" -c Release --no-build -- "${args[@]}" </dev/null >"$scratch/test.log" 2>&1
}

# The tests must pass on the unmutated engine, or a failure under a mutation proves nothing.
all_classes=()
for m in "${mutations[@]}"; do
    wanted "$(field "$m" 0)" || continue
    for c in $(field "$m" 4); do
        [[ " ${all_classes[*]} " == *" $c "* ]] || all_classes+=("$c")
    done
done

echo "== baseline: build and ${all_classes[*]}"
if ! build; then
    cat "$scratch/build.log"
    echo "baseline build failed"
    exit 1
fi
if ! run_tests "${all_classes[@]}"; then
    tail -n 60 "$scratch/test.log"
    echo "baseline tests failed: fix them before judging mutations"
    exit 1
fi

killed=0
bad=0
results=()
for m in "${mutations[@]}"; do
    name="$(field "$m" 0)"
    wanted "$name" || continue
    file="$(field "$m" 1)"
    old="$(field "$m" 2)"
    new="$(field "$m" 3)"
    classes="$(field "$m" 4)"
    cp "$file" "$scratch/original"
    if ! OLD="$old" NEW="$new" awk '
        BEGIN { o = ENVIRON["OLD"]; n = ENVIRON["NEW"]; c = 0 }
        { i = index($0, o); if (i > 0) { c++; $0 = substr($0, 1, i - 1) n substr($0, i + length(o)) } print }
        END { if (c != 1) exit 3 }' "$scratch/original" >"$file"; then
        cp "$scratch/original" "$file"
        results+=("NOT APPLIED  $name: its text is not on exactly one line of $file (update scripts/mutations.sh)")
        bad=$((bad + 1))
        continue
    fi

    echo "== $name: $file; tests: $classes"
    if ! build; then
        cat "$scratch/build.log"
        results+=("NO BUILD     $name: the mutant does not compile (update scripts/mutations.sh)")
        bad=$((bad + 1))
    elif run_tests $classes; then
        results+=("SURVIVED     $name: $classes still pass")
        bad=$((bad + 1))
    else
        failing="$(sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' "$scratch/test.log" | grep -E '^failed ' | sed -E 's/^failed //; s/ \([0-9][^)]*\)$//' | sort -u | paste -sd ';' -)"
        results+=("KILLED       $name: by ${failing:-a failing test run}")
        killed=$((killed + 1))
    fi

    cp "$scratch/original" "$file"
done

echo "== mutations"
printf '%s\n' "${results[@]}"
echo "$killed killed, $bad survived or broken"
[ "$bad" -eq 0 ]
