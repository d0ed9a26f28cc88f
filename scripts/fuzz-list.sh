#!/usr/bin/env bash
# Prints the fuzz targets, one a line, after checking that `cargo fuzz list`
# names exactly the files in fuzz_targets/: if the command fails, prints
# nothing, or disagrees with the directory (a target left out of
# Cargo.toml, a stale entry), this exits non-zero instead of letting a
# loop over its output run zero targets.
# Usage: scripts/fuzz-list.sh [FUZZ_DIR]   (default: fuzz/ beside this script)
set -euo pipefail
dir=${1:-"$(cd "$(dirname "$0")/.." && pwd)/fuzz"}
cd "$dir"
listed=$(RUSTC_BOOTSTRAP=1 cargo fuzz list) || {
    echo "fuzz-list: 'cargo fuzz list' failed in $dir" >&2
    exit 1
}
listed=$(printf '%s\n' "$listed" | sed '/^$/d' | sort)
expected=$(find fuzz_targets -maxdepth 1 -name '*.rs' -printf '%f\n' | sed 's/\.rs$//' | sort)
if [ -z "$listed" ] || [ -z "$expected" ] || [ "$listed" != "$expected" ]; then
    echo "fuzz-list: 'cargo fuzz list' does not match fuzz_targets/ in $dir:" >&2
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$listed") >&2 || true
    exit 1
fi
printf '%s\n' "$listed"
