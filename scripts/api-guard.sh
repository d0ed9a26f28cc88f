#!/usr/bin/env bash
# The public-API guard: cargo-semver-checks compares the public API of each
# published library with the last release (the commit recorded in
# release/<newest version>) and fails on a change the crate's version does
# not announce: a breaking change needs the next breaking version (0.1.x ->
# 0.2.0; see CHANGELOG.md, "Versions"). `cube` has no library: its public
# surface is the command line, which its own tests hold.
#
# Extra arguments go to `cargo semver-checks`.
set -euo pipefail
cd "$(dirname "$0")/.."

release=$(find release -maxdepth 1 -type f -name '[0-9]*' -printf '%f\n' | sort -V | tail -n 1)
[ -n "$release" ] || { echo "no release recorded in release/"; exit 1; }
baseline=$(head -n 1 "release/$release")
if ! git cat-file -e "$baseline^{commit}" 2>/dev/null; then
    echo "release/$release names commit $baseline, which this clone lacks (a shallow clone?): fetch the history"
    exit 1
fi

mapfile -t crates < <(scripts/published-crates.py --libs)
[ "${#crates[@]}" -gt 0 ] || { echo "no published library found"; exit 1; }
args=()
for crate in "${crates[@]}"; do
    args+=(--package "$crate")
done
echo "public API against release $release ($baseline): ${crates[*]}"
# Every feature: an impl behind `serde` is public API too. Items marked
# #[doc(hidden)] (the emulator's fuzzing entry points) are not.
cargo semver-checks check-release --baseline-rev "$baseline" --all-features "${args[@]}" "$@"
