#!/usr/bin/env bash
# Every mutant cargo-mutants makes of the session core (the files listed in
# .cargo/mutants.toml), each judged by cube-proto's unit, integration and doc
# tests: the full picture that CI's diff step (scripts/mutants-diff.sh) takes
# a slice of. Prints the numbers the README quotes: mutants, caught, missed,
# unviable, equivalent (left out by .cargo/mutants.toml), timeouts and time.
# About 50 minutes on a 2-core machine.
#
# Usage: bash scripts/mutants-full.sh [more cargo-mutants arguments]
# (exit 0 = every mutant caught, unviable or listed as equivalent)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
source scripts/mutants-common.sh

mutants_ensure_tool
out=target/mutants/full
mkdir -p "$out"

# The equivalent mutants: those the configuration's exclude_re leaves out,
# found by listing once with and once without it.
python3 - .cargo/mutants.toml "$out/no-exclusions.toml" <<'PY'
import json, sys, tomllib
config = tomllib.load(open(sys.argv[1], "rb"))
with open(sys.argv[2], "w") as f:
    f.write("examine_globs = [%s]\n" % ", ".join(json.dumps(g) for g in config["examine_globs"]))
PY
cargo mutants --package cube-proto --list >"$out/list.txt"
cargo mutants --package cube-proto --list --config "$out/no-exclusions.toml" >"$out/list-all.txt"
equivalent=$(grep -vxFf "$out/list.txt" "$out/list-all.txt" || true)

start=$(date +%s)
mutants_run "$out" "$@"
elapsed=$(($(date +%s) - start))
echo "equivalent (left out by .cargo/mutants.toml): $(grep -c . <<<"$equivalent" || true)"
if [ -n "$equivalent" ]; then
    sed 's/^/  /' <<<"$equivalent"
fi
echo "time: $((elapsed / 60)) min $((elapsed % 60)) s"
mutants_verdict "$out"
