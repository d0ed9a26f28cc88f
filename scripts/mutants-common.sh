# What scripts/mutants-full.sh and scripts/mutants-diff.sh share: the pinned
# cargo-mutants, how it is run, and how its verdict is read. Sourced, not run.
#
# Which files are mutated, the equivalent mutants left out and the test
# timeout floor are in .cargo/mutants.toml; the tests that judge a mutant are
# cube-proto's own (unit, integration and doc tests: `--package cube-proto`).

# The version whose output files the verdict below reads.
MUTANTS_VERSION=27.1.0

# Installs the pinned cargo-mutants unless it is already there (a build of a
# few minutes, paid once per machine).
mutants_ensure_tool() {
    if [ "$(cargo mutants --version 2>/dev/null)" = "cargo-mutants $MUTANTS_VERSION" ]; then
        echo "present: cargo-mutants $MUTANTS_VERSION"
    else
        cargo install cargo-mutants --locked --version "$MUTANTS_VERSION"
    fi
}

# Runs cargo-mutants over the session core with any extra arguments, its
# outcome files in $1/mutants.out. The builds go to target/mutants (kept from
# run to run, so dependencies are compiled once), apart from the workspace's
# own artifacts: each mutant is built from a scratch copy of the tree. One
# job at a time, the default: the machine is shared.
mutants_run() {
    local out=$1
    shift
    rm -rf "$out/mutants.out" "$out/mutants.out.old"
    mkdir -p "$out"
    # An absolute path: cargo-mutants reads its logs back from it while it
    # works in a scratch copy of the tree.
    out=$(cd "$out" && pwd)
    # Exit codes 2 (missed) and 3 (timeouts) still leave a full verdict;
    # mutants_verdict reads it. Any other failure has none to read.
    local status=0
    echo "command: CARGO_TARGET_DIR=target/mutants/build cargo mutants --package cube-proto --output $out --colors never $*"
    CARGO_TARGET_DIR="$PWD/target/mutants/build" \
        cargo mutants --package cube-proto --output "$out" --colors never "$@" || status=$?
    case $status in
        0 | 2 | 3) ;;
        *)
            echo "cargo mutants failed before a verdict (exit $status)"
            mutants_show_baseline "$out"
            return 1
            ;;
    esac
}

# Prints what the untouched tree's build and tests said (the end of
# cargo-mutants' baseline log, any bytes that are not UTF-8 replaced), and
# the free disk space, when a run ended without a verdict.
mutants_show_baseline() {
    local log="$1/mutants.out/log/baseline.log"
    if [ -f "$log" ]; then
        echo "--- the last 80 lines of $log"
        python3 - "$log" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().decode("utf-8", "replace").splitlines()
print("\n".join(lines[-80:]))
PY
        echo "---"
    else
        echo "no baseline log at $log"
    fi
    df -h "$1" | sed 's/^/disk: /'
}

# Reads the verdict of a finished run from $1/mutants.out/outcomes.json:
# prints the counts and every missed or timed-out mutant, and fails unless
# the untouched tree passed and every mutant was caught or unviable. A
# timeout counts as a miss: a test that only hangs under a mutant is
# bounded so that it fails instead.
mutants_verdict() {
    python3 - "$1/mutants.out" <<'PY'
import json, pathlib, sys

out = pathlib.Path(sys.argv[1])
path = out / "outcomes.json"
if not path.exists():
    sys.exit(f"no verdict: {path} is missing")
data = json.loads(path.read_text())
outcomes = data["outcomes"]
baseline = [o for o in outcomes if o["scenario"] == "Baseline"]
mutants = [o for o in outcomes if o["scenario"] != "Baseline"]
if not baseline or baseline[0]["summary"] != "Success":
    log = out / baseline[0]["log_path"] if baseline else "(none)"
    sys.exit(f"the untouched tree failed its tests: see {log}")
if len(mutants) != data["total_mutants"]:
    sys.exit(f"only {len(mutants)} of {data['total_mutants']} mutants were tested")
counts = {k: data[k] for k in ("caught", "missed", "timeout", "unviable")}
tested = sum(counts.values())
if tested != len(mutants):
    sys.exit(f"the counts {counts} do not add up to {len(mutants)} mutants")
print(
    f"mutants: {len(mutants)}; caught {counts['caught']}, missed {counts['missed']}, "
    f"unviable {counts['unviable']}, timeouts {counts['timeout']}"
)
bad = [o for o in mutants if o["summary"] in ("MissedMutant", "Timeout")]
for o in bad:
    word = "MISSED" if o["summary"] == "MissedMutant" else "TIMEOUT"
    print(f"{word}: {o['scenario']['Mutant']['name']}")
    print(f"    diff: {out / o['diff_path']}")
    print(f"    log:  {out / o['log_path']}")
if bad:
    sys.exit(
        f"{len(bad)} mutant(s) survived: add a test that states the rule each breaks, "
        "or, if no test could ever tell it from the code, list it in "
        ".cargo/mutants.toml (exclude_re) with the reason"
    )
PY
}
