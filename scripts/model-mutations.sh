#!/usr/bin/env bash
# Breaks one session rule at a time in a scratch copy of cube-proto and checks
# that the state-machine property test (tests/session_model.rs) notices.
# Usage: bash scripts/model-mutations.sh   (exit 0 = every mutation caught)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

mutate() { # name file python-replacement
  local name=$1 file=$2 old=$3 new=$4
  rm -rf "$scratch/w" && mkdir -p "$scratch/w"
  cp -r "$root/Cargo.toml" "$root/Cargo.lock" "$scratch/w/"
  mkdir -p "$scratch/w/crates" && cp -r "$root/crates/cube-proto" "$scratch/w/crates/"
  python3 - "$scratch/w/crates/cube-proto/$file" "$old" "$new" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
assert old in text, f"mutation anchor not found in {path}: {old!r}"
open(path, "w").write(text.replace(old, new, 1))
PY
  if (cd "$scratch/w" && cargo test -q -p cube-proto --test session_model >/dev/null 2>&1); then
    echo "NOT CAUGHT: $name"; return 1
  fi
  echo "caught: $name"
}

mutate "retry twice after a lost session" src/call.rs \
  "} else if self.retries == 0 {" "} else if self.retries < 2 { self.retries += 1; } else if false {"
mutate "guest deadline re-armed by activity" src/session.rs \
  "(None, SessionKind::Guest) => active.expires_at," "(None, SessionKind::Guest) => sent_at + SESSION_IDLE_TTL,"
mutate "safety margin ignored" src/session.rs \
  "State::Active(a) if now + self.options.margin < a.expires_at => Some(a)," "State::Active(a) if now < a.expires_at => Some(a),"
mutate "expired user session replaced by an application session" src/session.rs \
  "None | Some(SessionKind::Application) => Plan::CreateApplicationSession," "_ => Plan::CreateApplicationSession,"
mutate "fallback deadline ignores the request time" src/session.rs \
  "(None, _) => sent_at + SESSION_IDLE_TTL," "(None, _) => active.expires_at,"
mutate "401 does not mark the session expired" src/session.rs \
  "self.state = State::Expired(active.kind);" "let _ = active;"
echo "every mutation was caught"
