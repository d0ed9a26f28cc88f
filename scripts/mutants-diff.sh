#!/usr/bin/env bash
# CI's mutation step: every mutant that cargo-mutants makes of the session
# core's lines changed since the commit in .ci/mutants-base must be caught by
# a failing test of cube-proto (or be listed as equivalent, with its reason,
# in .cargo/mutants.toml). The verdict is read from cargo-mutants' outcome
# files; a missed mutant or a timeout fails the step, naming the mutant.
#
# .ci/mutants-base holds the commit the current round of work builds on: CI
# runs on a clean clone of main after a change lands, so the base has to come
# from the repository itself. Whoever lands a change updates it to main's
# head when starting the next round. A stale base only means more mutants
# (more lines differ), never fewer.
#
# cargo-mutants only mutates code, so a change that weakens a test without
# touching the code it guards is seen here only for the lines changed since
# the base; scripts/mutants-full.sh checks every line.
#
# Usage: bash scripts/mutants-diff.sh   (the working tree against the base,
# uncommitted edits included; exit 0 = every mutant of the change caught)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
source scripts/mutants-common.sh

base=$(tr -d '[:space:]' <.ci/mutants-base)
if ! [[ $base =~ ^[0-9a-f]{40}$ ]]; then
    echo ".ci/mutants-base must hold one full commit id, not '$base'"
    exit 1
fi
if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    echo ".ci/mutants-base names $base, which this clone does not have"
    exit 1
fi
if ! git merge-base --is-ancestor "$base" HEAD; then
    echo ".ci/mutants-base names $base, which is not an ancestor of HEAD"
    exit 1
fi

out=target/mutants/diff
mkdir -p "$out"
change="$out/change.diff"
# Fixed prefixes and no external diff tool: cargo-mutants reads the b/ side.
git -c core.quotePath=false diff --no-ext-diff --no-color --src-prefix=a/ --dst-prefix=b/ \
    "$base" -- crates/cube-proto >"$change"
stat=$(git diff --shortstat "$base" -- crates/cube-proto/src | sed 's/^ *//')
echo "base: $base ($(git log -1 --format=%cs "$base")); crates/cube-proto/src since: ${stat:-unchanged}"

# Test lines removed or rewritten may have guarded code the change did not
# touch: say so (the step cannot see it).
removed=$(git diff --numstat "$base" -- crates/cube-proto/tests |
    awk '$2 ~ /^[0-9]+$/ { n += $2 } END { print n + 0 }')
if [ "$removed" -gt 0 ]; then
    echo "note: $removed line(s) of crates/cube-proto/tests removed or rewritten since the base; what a"
    echo "      weakened test guarded outside the changed code shows only in scripts/mutants-full.sh"
fi

mutants_ensure_tool
# The mutants of the change, after the file filters and the equivalents of
# .cargo/mutants.toml.
cargo mutants --package cube-proto --list --in-diff "$change" >"$out/list.txt"
count=$(grep -c . "$out/list.txt" || true)
if [ "$count" -eq 0 ]; then
    echo "no mutant of the session core in the lines changed since the base: nothing to test"
    exit 0
fi
echo "$count mutant(s) of the session core in the lines changed since the base:"
sed 's/^/  /' "$out/list.txt"
start=$(date +%s)
mutants_run "$out" --in-diff "$change"
mutants_verdict "$out"
echo "time: $(($(date +%s) - start)) s"
