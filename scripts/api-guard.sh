#!/usr/bin/env bash
# The public-API guard: cargo-semver-checks compares the public API of each
# published library with the last release (the commit recorded in
# release/<newest version>) and fails on a change the crate's version does
# not announce: a breaking change needs the next breaking version (0.1.x ->
# 0.2.0; see CHANGELOG.md, "Versions"). `cube` has no library: its public
# surface is the command line, which its own tests hold. A crate the
# release does not have (new since) has no API to break: it is skipped,
# and the output says so.
#
# The rustdoc JSON of both sides is built here rather than by
# cargo-semver-checks, which builds every crate's dependencies twice in a
# scratch project of its own (eight builds for four crates): the release's
# tree is unpacked under target/api-guard/, and both sides are documented
# into one target directory there, so they share one build of the
# dependencies. It is not the workspace's: RUSTC_BOOTSTRAP (below) makes
# some build scripts (thiserror's) run again, and with them every crate
# above them, in whichever directory it is set.
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
echo "public API against release $release ($baseline): ${crates[*]}"

target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work="$target/api-guard"
tree="$work/release-$release-$baseline"
rm -rf "$work/json"
mkdir -p "$work/json/baseline" "$work/json/current"
# Unpacked once: a tree kept from an earlier run keeps its build.
if [ ! -f "$tree/Cargo.toml" ]; then
    rm -rf "$tree.partial"
    mkdir -p "$tree.partial"
    git archive "$baseline" | tar -x -C "$tree.partial"
    mv "$tree.partial" "$tree"
fi

# rustdoc JSON needs the nightly-only output format: RUSTC_BOOTSTRAP lets
# this stable toolchain write it, as cargo-semver-checks itself does. Every
# feature is on: an impl behind `serde` is public API too. Items marked
# #[doc(hidden)] (the emulator's fuzzing entry points) are not.
document() { # side directory
    local side=$1 dir=$2 crate
    for crate in "${crates[@]}"; do
        if ! (cd "$dir" && cargo pkgid --quiet --package "$crate" >/dev/null 2>&1); then
            echo "$crate: not in the $side tree, nothing to compare"
            continue
        fi
        (cd "$dir" && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$work/target" \
            cargo rustdoc --quiet --locked --package "$crate" --lib --all-features \
            -- -Z unstable-options --output-format json)
        cp "$work/target/doc/${crate//-/_}.json" "$work/json/$side/"
    done
}
document baseline "$tree"
document current .

failed=0
for crate in "${crates[@]}"; do
    file="${crate//-/_}.json"
    if [ ! -f "$work/json/baseline/$file" ]; then
        echo "== $crate: skipped, new since release $release (nothing to compare with)"
        continue
    fi
    echo "== $crate"
    if ! cargo semver-checks check-release \
        --baseline-rustdoc "$work/json/baseline/$file" \
        --current-rustdoc "$work/json/current/$file" "$@"; then
        failed=1
    fi
done
exit "$failed"
