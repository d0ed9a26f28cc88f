#!/usr/bin/env bash
# Documents each published crate on its own, as docs.rs would: only that
# crate selected (so its dependencies have the features it asks for, not
# the whole workspace's), the features its [package.metadata.docs.rs]
# names, `--cfg docsrs`, and every rustdoc warning an error.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t lines < <(scripts/published-crates.py --docs)
[ "${#lines[@]}" -gt 0 ] || { echo "no published crate found"; exit 1; }
for line in "${lines[@]}"; do
    IFS=$'\t' read -r crate cargo_args rustdoc_args <<<"$line"
    echo "$crate: cargo doc --no-deps $cargo_args"
    # shellcheck disable=SC2086 # the argument lists are split on purpose
    RUSTDOCFLAGS="-D warnings --cfg docsrs $rustdoc_args" cargo doc --no-deps $cargo_args
done
