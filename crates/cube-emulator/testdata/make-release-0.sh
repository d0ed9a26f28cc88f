#!/usr/bin/env bash
# Writes a data directory through the API of the last release before
# versioned migrations (commit 0e81422), dumps it as SQL, and prints each
# session's token and user: what tests/migrations.rs opens and looks for.
#
#   make-release-0.sh path/to/old/cube-emulator release-0.sql > release-0-sessions.txt
set -euo pipefail
BIN=$1; OUT=$2
DIR=$(mktemp -d)
"$BIN" --listen 127.0.0.1:0 --data-dir "$DIR" > "$DIR/ready" 2>/dev/null &
PID=$!
for _ in $(seq 50); do grep -q listening "$DIR/ready" 2>/dev/null && break; sleep 0.1; done
EMU=$(sed 's/cube-emulator listening on //' "$DIR/ready")
j() { curl -s -H 'Content-Type: application/json' "$@"; }
session() { j -X POST "$EMU/session" -d "{\"application_id\":1,\"auth_key\":\"emulator-auth-key\"$1}"; }
APP=$(session '' | sed 's/.*"token":"\([^"]*\)".*/\1/')
j -X POST "$EMU/users" -H "CB-Token: $APP" -d '{"user":{"login":"ann","email":"Ann@Example.com","password":"password123","full_name":"Ann Smith","phone":"+100","website":"https://ann.example","tag_list":"vip,red","custom_data":"{\"a\":1}","timezone":180,"external_user_id":"42"}}' >/dev/null
j -X POST "$EMU/users" -H "CB-Token: $APP" -d '{"user":{"login":"bert","password":"password123","full_name":"Bert Jones","tag_list":"red","external_id":"ext-bert","facebook_id":"fb-self-set"}}' >/dev/null
j -X POST "$EMU/users" -H "CB-Token: $APP" -d '{"user":{"email":"cleo@example.com","password":"password123","full_name":"Cléo Ünicode","tag_list":"blue"}}' >/dev/null
j -X POST "$EMU/_emulator/providers/facebook/tokens" -d '{"token":"fb-token","id":"9123","name":"Face Book","email":"face@example.com"}' >/dev/null
j -X POST "$EMU/_emulator/providers/twitter/tokens" -d '{"token":"tw-token","secret":"tw-secret","id":"783","name":"Twit"}' >/dev/null
b64() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
NOW=$(date +%s)
HDR=$(printf '{"alg":"none","typ":"JWT"}' | b64)
PAY=$(printf '{"aud":"proj","iss":"https://securetoken.google.com/proj","sub":"firebase-sub-1","iat":%d,"exp":%d,"phone_number":"+6110797757"}' $((NOW-10)) $((NOW+3000)) | b64)
python3 -c '
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b=json.dumps({"uid":"cidp-77","name":"Cid"}).encode()
        self.send_response(200); self.send_header("Content-Type","application/json"); self.send_header("Content-Length",str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self,*a): pass
http.server.HTTPServer(("127.0.0.1",47123),H).serve_forever()' &
IDP=$!
for _ in $(seq 50); do curl -s http://127.0.0.1:47123/verify >/dev/null && break; sleep 0.1; done
j -X PUT "$EMU/_emulator/apps/1/settings" -d '{"cidp":{"url":"http://127.0.0.1:47123/verify"}}' >/dev/null
CI=$(session ',"user":{"login":"cidp-login-token","password":"x"}')
j -X PUT "$EMU/_emulator/apps/1/settings" -d '{"cidp":null}' >/dev/null
kill $IDP
FB=$(session ',"provider":"facebook","keys":{"token":"fb-token"}')
TW=$(session ',"provider":"twitter","keys":{"token":"tw-token","secret":"tw-secret"}')
FI=$(session ",\"provider\":\"firebase_phone\",\"firebase_phone\":{\"project_id\":\"proj\",\"access_token\":\"$HDR.$PAY.\"}")
ANN=$(session ',"user":{"login":"ann","password":"password123"}')
GUEST=$(session ',"user":{"guest":1,"full_name":"Visitor"}')
tok() { echo "$1" | sed 's/.*"token":"\([^"]*\)".*/\1/'; }
uid() { echo "$1" | sed 's/.*"user_id":\([0-9]*\).*/\1/'; }
j -X PUT "$EMU/_emulator/apps/1/settings" -d '{"list_users_v1":false}' >/dev/null
j -X POST "$EMU/blobs" -H "CB-Token: $(tok "$ANN")" -d '{"blob":{"content_type":"text/plain","name":"a.txt","public":false}}' >/dev/null
curl -s "$EMU/users/password/reset?email=ann%40example.com" -H "CB-Token: $APP" >/dev/null
echo "app=$APP"
echo "ann=$(tok "$ANN") user $(uid "$ANN")"
echo "facebook=$(tok "$FB") user $(uid "$FB")"
echo "twitter=$(tok "$TW") user $(uid "$TW")"
echo "firebase=$(tok "$FI") user $(uid "$FI")"
echo "cidp=$(tok "$CI") user $(uid "$CI")"
echo "guest=$(tok "$GUEST") user $(uid "$GUEST")"
kill -TERM $PID; wait $PID || true
sqlite3 "$DIR/emulator.sqlite3" .dump > "$OUT"
rm -rf "$DIR"
