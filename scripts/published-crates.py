#!/usr/bin/env python3
"""The workspace's published crates: the members whose manifest does not
say `publish = false`, each after the siblings it depends on.

    published-crates.py          one name a line
    published-crates.py --check  the same, after refusing a published crate
                                 whose manifest lacks what crates.io shows or
                                 needs, or names a sibling by path only
    published-crates.py --libs   only those with a library (a Rust API)
    published-crates.py --docs   one line each: the name, a tab, the `cargo
                                 doc` arguments docs.rs would use (its
                                 [package.metadata.docs.rs] features), a tab,
                                 the extra rustdoc arguments it names
"""

import json
import subprocess
import sys
from pathlib import Path

NEEDED = ["description", "keywords", "categories", "readme", "documentation",
          "license", "repository", "rust_version"]


def metadata() -> dict:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
        cwd=root, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def problems(name: str, package: dict) -> list[str]:
    found = [f"{name}: its manifest has no `{field}`"
             for field in NEEDED if not package.get(field)]
    for dep in package["dependencies"]:
        # Only dev-dependencies may go without a version: cargo drops those
        # from the package, where a path means nothing.
        if dep.get("path") and dep["kind"] != "dev" and dep["req"] == "*":
            found.append(f"{name}: dependency {dep['name']} has a path but no version")
    return found


def has_lib(package: dict) -> bool:
    return any(kind in ("lib", "rlib", "dylib", "proc-macro")
               for target in package["targets"] for kind in target["kind"])


def docs_line(name: str, package: dict) -> str:
    docsrs = (package.get("metadata") or {}).get("docs", {}).get("rs", {})
    args = ["--package", name]
    # docs.rs documents the library; a crate without one gets no API pages,
    # so its binaries' docs are checked instead.
    args += ["--lib"] if has_lib(package) else ["--bins"]
    if docsrs.get("all-features"):
        args.append("--all-features")
    if docsrs.get("no-default-features"):
        args.append("--no-default-features")
    if docsrs.get("features"):
        args += ["--features", ",".join(docsrs["features"])]
    return "\t".join([name, " ".join(args), " ".join(docsrs.get("rustdoc-args", []))])


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in ("", "--check", "--libs", "--docs"):
        print(__doc__, file=sys.stderr)
        return 2
    meta = metadata()
    members = set(meta["workspace_members"])
    published = {p["name"]: p for p in meta["packages"]
                 if p["id"] in members and p["publish"] != []}

    if mode == "--check":
        found = [line for name in sorted(published) for line in problems(name, published[name])]
        if found:
            print("\n".join(found), file=sys.stderr)
            return 1

    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for dep in published[name]["dependencies"]:
            if dep["name"] in published and dep["kind"] != "dev":
                visit(dep["name"])
        order.append(name)

    for name in sorted(published):
        visit(name)

    for name in order:
        if mode == "--docs":
            print(docs_line(name, published[name]))
        elif mode != "--libs" or has_lib(published[name]):
            print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
