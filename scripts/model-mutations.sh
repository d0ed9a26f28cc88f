#!/usr/bin/env bash
# Breaks one session rule at a time in a scratch copy of cube-proto and checks
# that a test notices: the state-machine property test (tests/session_model.rs),
# the call transcripts (tests/call_driver.rs, where the restore-turn rule
# is tested), and for the resends and the server's clock the retry model
# (tests/retry_model.rs), its transcripts (tests/retry_transcripts.rs) and
# the clock's (tests/server_clock.rs).
#
# The scratch copy is a workspace of one member, cube-proto, so cargo loads it
# without the rest of the tree. The untouched copy must pass first. A mutation
# counts as caught only when the test runner reports at least one failing
# test ("test result: FAILED. … N failed" with N > 0); a mutation that does
# not compile, or that fails any other way, stops the script.
#
# Usage: bash scripts/model-mutations.sh   (exit 0 = baseline passed and
# every mutation was caught by a failing test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TERM_COLOR=never
# A fixed place under target/, so that builds are reused from run to run. The
# copy has its own target directory: cargo names a workspace member's
# artifacts by its path inside the workspace, so building the mutated copy
# into the main target directory would overwrite the real crate's test
# binaries with mutated ones.
scratch="$root/target/model-mutations"
export CARGO_TARGET_DIR="$scratch/target"
tests=(--no-fail-fast --test session_model --test call_driver --test retry_model
  --test retry_transcripts --test server_clock)

fresh_copy() {
  rm -rf "$scratch/w" && mkdir -p "$scratch/w/crates"
  cp -r "$root/crates/cube-proto" "$scratch/w/crates/"
  cp "$root/Cargo.lock" "$scratch/w/"
  # The root manifest with one member: its workspace dependencies, lints and
  # profiles still apply to cube-proto.
  python3 - "$root/Cargo.toml" "$scratch/w/Cargo.toml" <<'PY'
import re, sys
src, dst = sys.argv[1:]
text = open(src).read()
text, n = re.subn(r'(?m)^members\s*=\s*\[[^\]]*\]', 'members = ["crates/cube-proto"]', text)
assert n == 1, "the root Cargo.toml has no members line"
open(dst, "w").write(text)
PY
}

# Runs the tests in the scratch copy; prints the runner's verdict lines to
# $scratch/out and echoes the number of failed tests ("" if none ran).
run_tests() {
  local log="$scratch/log"
  (cd "$scratch/w" && cargo test -q -p cube-proto "${tests[@]}" >"$log" 2>&1) || true
  grep -E '^test result: ' "$log" >"$scratch/out" || true
  if grep -qE '^error(\[E[0-9]+\])?:' "$log" && ! grep -q '^test result: ' "$log"; then
    echo "compile-error"
    return
  fi
  python3 - "$scratch/out" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
failed = sum(int(m.group(1)) for l in lines for m in [re.search(r'(\d+) failed', l)] if m)
print(failed if lines else "")
PY
}

# Which tests failed, by name, from the log.
failing_tests() {
  grep -E '^test .* \.\.\. FAILED$|^    [a-z0-9_]+$' "$scratch/log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/; s/^ +//' | sort -u | paste -sd, - || true
}

mutate() { # name file old new [old new ...]
  local name=$1 file=$2
  shift 2
  fresh_copy
  python3 - "$scratch/w/crates/cube-proto/$file" "$@" <<'PY'
import sys
path, *pairs = sys.argv[1:]
text = open(path).read()
for old, new in zip(pairs[::2], pairs[1::2]):
    assert text.count(old) == 1, f"mutation anchor not found exactly once in {path}: {old!r}"
    text = text.replace(old, new)
open(path, "w").write(text)
PY
  local failed
  failed=$(run_tests)
  case "$failed" in
    compile-error)
      echo "BROKEN (does not compile): $name"; tail -n 30 "$scratch/log"; exit 1 ;;
    ""|0)
      echo "NOT CAUGHT: $name"; cat "$scratch/out"; exit 1 ;;
    *)
      echo "caught: $name — $failed failing test(s): $(failing_tests)" ;;
  esac
}

echo "baseline: the untouched copy"
fresh_copy
baseline=$(run_tests)
if [ "$baseline" != "0" ]; then
  echo "BASELINE FAILS (failed tests: ${baseline:-none ran})"; tail -n 40 "$scratch/log"; exit 1
fi
sed 's/^/  /' "$scratch/out"
echo "baseline passed"

# The rules the model has always checked.
mutate "retry twice after a lost session" src/call.rs \
  "} else if self.retries == 0 {" "} else if self.retries < 2 {" \
  "self.retries = 1;" "self.retries += 1;"
mutate "guest deadline re-armed by activity" src/session.rs \
  "(None, SessionKind::Guest) => active.expires_at.or(Some(sent_at + SESSION_IDLE_TTL))," \
  "(None, SessionKind::Guest) => Some(sent_at + SESSION_IDLE_TTL),"
mutate "safety margin ignored" src/session.rs \
  "now + self.options.margin < at" "now < at"
mutate "expired user session replaced by an application session" src/session.rs \
  "None | Some(SessionKind::Application) => create_app()," "_ => create_app(),"
mutate "fallback deadline ignores the request time" src/session.rs \
  "(None, _) => Some(sent_at + SESSION_IDLE_TTL)," "(None, _) => active.expires_at,"
mutate "401 does not mark the session expired" src/session.rs \
  "self.state = Standing::Expired(active.kind);" "let _ = active;" \
  "self.changed(SessionChange::Expired(ExpiredBy::Server));" ""

# The rules of sessions that live as long as the app.
mutate "the server's expiration header is ignored at creation" src/session.rs \
  "expires_at: Some(header.unwrap_or(sent_at + ttl))," "expires_at: Some(sent_at + ttl),"
mutate "a 401 for an old token expires the new session" src/session.rs \
  "if generation != self.generation {" "if false && generation != self.generation {"
mutate "the guest rule: a guest's deadline ignores the server's header" src/session.rs \
  "(Some(deadline), _) => Some(deadline)," \
  "(Some(_), SessionKind::Guest) => active.expires_at, (Some(deadline), _) => Some(deadline),"
mutate "the margin edge counts as valid when hit exactly" src/session.rs \
  "now + self.options.margin < at" "now + self.options.margin <= at"
mutate "a restore that completes after the app signed out or destroyed is applied" src/call.rs \
  "if session.revision() == revision {" "if true || session.revision() == revision {"
mutate "a ready session that arrives after the app changed the session is applied" src/call.rs \
  "RestoreAnswer::Session(token) if session.revision() != revision => {" \
  "RestoreAnswer::Session(token) if false && session.revision() != revision => {"
mutate "polling a finished call plans and sends again" src/call.rs \
  "Phase::Spent => Step::Done(Err(Misuse::PolledAfterDone.into()))," \
  "Phase::Spent => self.decide(session, now, nonce, false),"
mutate "a caller that gets the restore turn asks again without looking" src/call.rs \
  "Phase::TurnRequested => self.decide(session, now, nonce, true)," \
  "Phase::TurnRequested => { self.phase = Phase::AskedRestore { revision: session.revision() }; Step::AskRestore }"
mutate "the restore turn is kept after the restored session is in place" src/call.rs \
  "                        if restoring {
                            Phase::Releasing(Then::Decide)" \
  "                        if false {
                            Phase::Releasing(Then::Decide)"
mutate "a ready session from the restore callback is ignored" src/call.rs \
  "match session.restore_with(token) {" "match Ok::<(), Error>(drop(token)) {"
mutate "a declined restore with no session says it expired" src/call.rs \
  "None => Error::NoSession," "None => Error::SessionExpired,"
mutate "a client without an auth key creates application sessions" src/session.rs \
  "if self.options.auth_key {" "if true {"
mutate "an expiry noticed by the clock is not reported" src/session.rs \
  "self.changed(SessionChange::Expired(ExpiredBy::Clock));" ""
mutate "a change is reported twice" src/session.rs \
  "self.events.push_back(SessionEvent { change, snapshot });" \
  "self.events.push_back(SessionEvent { change, snapshot: snapshot.clone() }); self.events.push_back(SessionEvent { change, snapshot });"
mutate "a resumed snapshot forgets its deadline" src/session.rs \
  "expires_at: snapshot.expires_at," "expires_at: None,"
mutate "a snapshot of another application is resumed" src/snapshot.rs \
  "if self.application_id != other.application_id {" "if false {"
mutate "a token whose deadline is unknown counts as expired" src/session.rs \
  "a.expires_at.is_none_or(" "a.expires_at.is_some_and("

# The answers the public service sends in either form, and "no token".
mutate "a 401 Token is required re-arms the deadline as a used token would" src/call.rs \
  "if with_token && token_seen {" "if with_token {"
mutate "a 401 Token is required is taken for a lost session" src/call.rs \
  "with_token && error.as_ref().is_some_and(ApiError::is_session_missing);" \
  "with_token && error.as_ref().is_some_and(|e| e.is_session_missing() || e.is_token_required());"
mutate "a lost session is recognised in the object form only" src/error/messages.rs \
  "Some(other @ (Value::Array(_) | Value::String(_))) => out.base = strings(other)," \
  "Some(Value::Array(_) | Value::String(_)) => {}"
# Resends after transient failures, and signatures on the server's clock.
mutate "a request that may not be repeated goes again after a 503" src/call/resend.rs \
  "return idempotent" "return true"
mutate "a timeout after the request was written counts as nothing sent" src/call/resend.rs \
  "(idempotent || failure.nothing_sent())" "(idempotent || failure.is_transient())"
mutate "one more try than the policy allows" src/retry.rs \
  "if u16::from(resends) + 1 >= u16::from(self.max_attempts) {" \
  "if u16::from(resends) >= u16::from(self.max_attempts) {"
mutate "a Retry-After past the cap is waited for" src/retry.rs \
  "Some(asked) if asked > self.retry_after_cap || asked > remaining => None," \
  "Some(asked) if asked > remaining => None,"
mutate "a Retry-After past the budget is waited for" src/retry.rs \
  "Some(asked) if asked > self.retry_after_cap || asked > remaining => None," \
  "Some(asked) if asked > self.retry_after_cap => None,"
mutate "backoff is drawn past what is left of the budget" src/retry.rs \
  "doubled.min(self.max_delay).min(remaining)" "doubled.min(self.max_delay)"
mutate "a transient answer without a deadline re-arms the token" src/call.rs \
  "let unheard = error.is_some() && is_transient_status(status) && header.is_none();" \
  "let unheard = false;"
mutate "a restore's session request goes again without the turn it holds" src/call/resend.rs \
  "} => Resume::Restore { op, revision }," "} => { drop((op, revision)); Resume::Decide }"
mutate "a refused signature is signed again in a loop" src/call/resend.rs \
  "far && !self.resigned && error.is_signature_rejected()" \
  "far && error.is_signature_rejected()"
mutate "a refusal near the server's clock is signed again" src/call/resend.rs \
  "(date - signed_at).abs() > FAR_FROM_CLOCK," "(date - signed_at).abs() >= time::Duration::ZERO,"
mutate "session requests are signed on the device's clock only" src/server_time.rs \
  ".and_then(|offset| local_now.checked_add(offset))" ".and(None::<OffsetDateTime>)"
mutate "a Date alone moves the signatures of a device whose clock is right" src/server_time.rs \
  ".filter(|_| self.adopted)" ".filter(|_| true)"
mutate "a refused clock is forgotten after the call that signed again" src/call.rs \
  "session.adopt_server_time();" "let _ = &session;"
mutate "a storage server's Date is taken for the API's clock" src/call.rs \
  "let date = date_of(&response).filter(|_| flight.to_api);" "let date = date_of(&response);"
echo "every mutation was caught by a failing test"
