#!/usr/bin/env bash
# Checks that scripts/fuzz-list.sh catches what it claims to: on a scratch
# copy of fuzz/ it must list every target of the untouched copy, then refuse
# a copy with a target file that Cargo.toml does not name, and a copy whose
# `cargo fuzz list` fails. Each refusal must give its own reason, so a
# refusal for another cause does not count.
# Usage: bash scripts/fuzz-list-check.sh   (exit 0 = all three hold)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fresh_copy() {
    rm -rf "$scratch/p" && mkdir -p "$scratch/p/src" "$scratch/p/fuzz/fuzz_targets"
    # cargo-fuzz wants the fuzz directory inside a cargo project.
    printf '[package]\nname = "scratch"\nversion = "0.0.0"\nedition = "2024"\n' >"$scratch/p/Cargo.toml"
    touch "$scratch/p/src/lib.rs"
    cp "$root/fuzz/Cargo.toml" "$scratch/p/fuzz/"
    cp "$root"/fuzz/fuzz_targets/*.rs "$scratch/p/fuzz/fuzz_targets/"
}

fail() { echo "fuzz-list-check: $*" >&2; exit 1; }

fresh_copy
baseline=$(bash "$root/scripts/fuzz-list.sh" "$scratch/p/fuzz") || fail "the untouched copy was refused"
real=$(find "$root/fuzz/fuzz_targets" -maxdepth 1 -name '*.rs' | wc -l)
[ "$(printf '%s\n' "$baseline" | wc -l)" -eq "$real" ] || fail "the untouched copy listed $(printf '%s\n' "$baseline" | wc -l) targets, not $real"
echo "fuzz-list-check: untouched copy lists $real targets"

touch "$scratch/p/fuzz/fuzz_targets/not_in_cargo_toml.rs"
if out=$(bash "$root/scripts/fuzz-list.sh" "$scratch/p/fuzz" 2>&1); then
    fail "a target missing from Cargo.toml was accepted"
fi
grep -q "does not match fuzz_targets/" <<<"$out" || fail "refused for another reason: $out"
echo "fuzz-list-check: a target missing from Cargo.toml is refused"

fresh_copy
echo 'this is not toml [' >>"$scratch/p/fuzz/Cargo.toml"
if out=$(bash "$root/scripts/fuzz-list.sh" "$scratch/p/fuzz" 2>&1); then
    fail "a failing 'cargo fuzz list' was accepted"
fi
grep -q "'cargo fuzz list' failed" <<<"$out" || fail "refused for another reason: $out"
echo "fuzz-list-check: a failing 'cargo fuzz list' is refused"
