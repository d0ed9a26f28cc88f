#!/usr/bin/env python3
"""Checks each published crate's `rust-version` against what it builds on:
every crate in its dependency tree (normal and build dependencies, every
platform, at the versions of Cargo.lock) that declares a `rust-version`
must declare one no newer than the published crate's. Prints, per crate,
the newest one found and the dependencies that declare none.

The crate's own code is checked by clippy's `incompatible_msrv` lint, which
reads the same `rust-version` (CI's clippy step denies every warning).
"""

import json
import subprocess
import sys
from pathlib import Path


def version(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=root, check=True, capture_output=True, text=True).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    members = set(meta["workspace_members"])
    published = [i for i in members if packages[i]["publish"] != []]

    failed = False
    for crate in sorted(published, key=lambda i: packages[i]["name"]):
        own = packages[crate]["rust_version"]
        if not own:
            print(f"{packages[crate]['name']}: no rust-version")
            failed = True
            continue
        seen, todo = set(), [crate]
        while todo:
            node = nodes[todo.pop()]
            for dep in node["deps"]:
                if dep["pkg"] in seen:
                    continue
                if all(k["kind"] == "dev" for k in dep["dep_kinds"]):
                    continue
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
        declared = [(packages[i]["rust_version"], packages[i]["name"], packages[i]["version"])
                    for i in seen if packages[i]["rust_version"]]
        silent = sorted(packages[i]["name"] for i in seen if not packages[i]["rust_version"])
        newer = [d for d in declared if version(d[0]) > version(own)]
        newest = max(declared, key=lambda d: version(d[0]))
        name = packages[crate]["name"]
        print(f"{name} (rust-version {own}): {len(seen)} dependencies, newest rust-version "
              f"{newest[0]} ({newest[1]} {newest[2]}); none declared by {len(silent)}: "
              f"{', '.join(silent)}")
        for d in sorted(newer):
            print(f"  {d[1]} {d[2]} needs Rust {d[0]}, newer than {own}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
