#!/usr/bin/env bash
# Packages every published crate as `cargo publish` would upload it, and
# builds each from its package alone: a sibling it depends on comes from
# that sibling's fresh package (cargo's local registry overlay), every other
# dependency from crates.io at the versions of Cargo.lock. A file a crate
# needs that its package leaves out (an `include_str!` reaching outside the
# crate, an `exclude` too wide) fails the build here, while the workspace's
# own builds would still pass. Each package must also carry the licence
# texts (the root's, byte for byte) and its README.
#
# Extra arguments go to `cargo package` (e.g. --allow-dirty while editing).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t crates < <(scripts/published-crates.py --check)
[ "${#crates[@]}" -gt 0 ] || { echo "no published crate found"; exit 1; }
args=()
for crate in "${crates[@]}"; do
    args+=(--package "$crate")
done

# One invocation: cargo packages the crates in dependency order and verifies
# each against the packages of the siblings before it.
cargo package --locked "${args[@]}" "$@"

target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
failed=0
for crate in "${crates[@]}"; do
    version=$(cargo pkgid --package "$crate")
    version=${version##*[@#]}  # path+file:///…/cube-proto#0.1.0 or …/cube-cli#cube@0.1.0
    file="$target/package/$crate-$version.crate"
    listing=$(tar -tzf "$file")
    for licence in LICENSE-MIT LICENSE-APACHE; do
        if ! tar -xzOf "$file" "$crate-$version/$licence" 2>/dev/null | cmp -s - "$licence"; then
            echo "$file: $licence is missing or differs from the root's"
            failed=1
        fi
    done
    if ! grep -qx "$crate-$version/README.md" <<<"$listing"; then
        echo "$file: no README.md"
        failed=1
    fi
    echo "$file: $(wc -l <<<"$listing") files, $(du -k "$file" | cut -f1) KiB"
done
exit "$failed"
