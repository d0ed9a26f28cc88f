//! The command inherits the SDK's retry policy: `cube users get` against a
//! server answering `503` twice then `200` prints the user, with three
//! requests on the wire; `--no-retry` sends once and fails. The same
//! against the emulator's faults, and a sign-up answered `503` sent once.

mod common;

use common::World;
use cube_test_support::fake::{FakeServer, Reply};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

const SESSION: &str = r#"{"session":{"id":1,"user_id":0,"token":"cli-retry-t0ken"}}"#;
const USER_5: &str = r#"{"skip":0,"limit":10,"total_entries":1,"items":[{"id":5,"login":"five"}]}"#;
const UNAVAILABLE: &str = r#"{"errors":["Service Unavailable"]}"#;

/// Sessions are created; the reads are answered, in order, `503`, `503`,
/// `200`, `503`, then `200`.
fn flaky_server() -> FakeServer {
    let reads = AtomicUsize::new(0);
    FakeServer::start(move |req| {
        if req.method == "POST" && req.path == "/session" {
            return Reply::new(201, SESSION);
        }
        match reads.fetch_add(1, Ordering::SeqCst) {
            0 | 1 | 3 => Reply::new(503, UNAVAILABLE),
            _ => Reply::new(200, USER_5),
        }
    })
}

/// `METHOD /path` of every request the server read.
fn wire(server: &FakeServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path.split('?').next().unwrap_or("")))
        .collect()
}

#[test]
fn users_get_goes_again_after_503s_unless_told_not_to() {
    let world = World::new("retry");
    let server = flaky_server();
    let endpoint = [("CUBE_API_URL", server.url())];
    let env: Vec<(&str, &str)> = endpoint.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let run = world
        .cube_env(&["--json", "users", "get", "5"], "", &env)
        .ok();
    assert_eq!(run.json()["id"], 5, "{run:#?}");
    assert_eq!(
        wire(&server),
        [
            "POST /session",
            "GET /users/v2",
            "GET /users/v2",
            "GET /users/v2"
        ],
        "the read was answered on its third try"
    );

    // The session is saved: the next read goes alone, once, and its 503 is
    // the command's failure.
    let run = world
        .cube_env(&["--no-retry", "users", "get", "5"], "", &env)
        .fails(1);
    assert!(run.stderr.contains("503"), "{run:#?}");
    assert_eq!(
        wire(&server).len(),
        5,
        "one more request: {:?}",
        wire(&server)
    );

    // Without the flag the next one is answered at once.
    world
        .cube_env(&["--json", "users", "get", "5"], "", &env)
        .ok();
    assert_eq!(wire(&server).len(), 6);
}

#[test]
fn no_retry_is_a_global_option_in_the_help() {
    let world = World::bare("retry-help");
    let top = world.cube(&["--help"]).ok().stdout;
    let global = top.find("Global options:").unwrap();
    let flag = top.find("--no-retry").expect("--no-retry in the help");
    assert!(flag > global, "{top}");
    assert!(top.contains("Send each request once"), "{top}");
    let nested = world.cube(&["users", "get", "--help"]).ok().stdout;
    assert!(nested.contains("--no-retry"), "{nested}");
}

/// The requests the emulator logged of `method` on paths starting with
/// `path`, oldest first: their statuses.
fn logged(world: &World, method: &str, path: &str) -> Vec<u64> {
    let log = world.admin_get("/requests?limit=1000");
    let mut items: Vec<&serde_json::Value> = log["items"].as_array().unwrap().iter().collect();
    items.sort_by_key(|r| r["seq"].as_u64());
    items
        .into_iter()
        .filter(|r| r["method"] == method && r["path"].as_str().unwrap().starts_with(path))
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

/// Against the emulator's faults: a read answered `503` twice succeeds on
/// its third try; with `--no-retry` one `503` is the command's failure; a
/// sign-up answered `503` fails with one request in the emulator's log.
#[test]
fn the_emulators_faults_meet_the_retry_policy() {
    let world = World::new("retry-faults");
    let id = world.signed_in("retry_e2e", "password-e2e");
    let id_text = id.to_string();
    let reads_before = logged(&world, "GET", "/users").len();

    world.admin_post(
        "/faults",
        json!({"text": "GET /users/** status=503 times=2"}),
    );
    let run = world.cube(&["--json", "users", "get", &id_text]).ok();
    assert_eq!(run.json()["id"], id, "{run:#?}");
    assert_eq!(
        logged(&world, "GET", "/users")[reads_before..],
        [503, 503, 200]
    );

    world.admin_post("/faults", json!({"text": "GET /users/** status=503"}));
    let run = world
        .cube(&["--no-retry", "users", "get", &id_text])
        .fails(1);
    assert!(run.stderr.contains("503"), "{run:#?}");
    assert_eq!(
        logged(&world, "GET", "/users")[reads_before..],
        [503, 503, 200, 503]
    );

    let sign_ups_before = logged(&world, "POST", "/users").len();
    world.admin_post(
        "/faults",
        json!({"text": "POST /users status=503 times=always"}),
    );
    world
        .cube_in(
            &["signup", "--login", "retry_new", "--password-stdin"],
            "password-new\n",
        )
        .fails(1);
    assert_eq!(
        logged(&world, "POST", "/users")[sign_ups_before..],
        [503],
        "one sign-up on the wire"
    );
}
