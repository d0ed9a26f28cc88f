//! The deprecated v1 list (`filter[]`, `order`), by full name, by tags,
//! and the settings that disable them.

mod common;

use common::Emu;
use serde_json::{Value, json};

fn fixture() -> (Emu, String) {
    let emu = Emu::start();
    let people = [
        ("ann", "Ann Smith", "vip,red"),
        ("bert", "Bert Smithson", "red"),
        ("cleo", "Cleo Jones", "blue"),
        ("dave", "Dave Jones", ""),
        ("emma", "Emma Stone", "green"),
    ];
    for (login, name, tags) in people {
        emu.sign_up(json!({"login": login, "full_name": name, "tag_list": tags,
            "email": format!("{login}@example.com"), "password": "password123"}));
    }
    let token = emu.app_session();
    (emu, token)
}

fn logins(resp: &common::Resp) -> Vec<String> {
    resp.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["user"]["login"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn list_pages_and_clamps() {
    let (emu, token) = fixture();
    let resp = emu.get("/users", Some(&token));
    resp.assert(200);
    assert_eq!(resp.body["current_page"], 1);
    assert_eq!(resp.body["per_page"], 10);
    assert_eq!(resp.body["total_entries"], 5);
    assert_eq!(logins(&resp), ["ann", "bert", "cleo", "dave", "emma"]);
    let resp = emu.get("/users.json?page=2&per_page=2", Some(&token));
    assert_eq!(logins(&resp), ["cleo", "dave"]);
    assert_eq!(resp.body["current_page"], 2);
    let resp = emu.get("/users?per_page=500", Some(&token));
    assert_eq!(resp.body["per_page"], 100);
    emu.get("/users?page=zero", Some(&token)).assert(422);
    emu.get("/users?per_page=0", Some(&token)).assert(422);
}

#[test]
fn filters_and_order() {
    let (emu, token) = fixture();
    let get = |q: &str| {
        let resp = emu.get(&format!("/users?{q}"), Some(&token));
        resp.assert(200);
        logins(&resp)
    };
    assert_eq!(get("filter[]=string+login+eq+cleo"), ["cleo"]);
    assert_eq!(
        get("filter[]=string%20login%20in%20ann,emma"),
        ["ann", "emma"]
    );
    assert_eq!(
        get("filter[]=string+login+ne+ann&filter[]=string+login+ne+emma"),
        ["bert", "cleo", "dave"]
    );
    assert_eq!(
        get("filter[]=string+login+ne+ann&filter[]=string+login+lt+cleo"),
        ["bert"]
    );
    assert_eq!(get("filter[]=string+email+eq+DAVE%40example.com"), ["dave"]);
    let first = emu.get("/users/by_login?login=ann", Some(&token)).body["user"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        get(&format!(
            "filter[]=number+id+between+{},{}",
            first + 1,
            first + 2
        )),
        ["bert", "cleo"]
    );
    assert_eq!(
        get(&format!("filter[]=number+id+gt+{}", first + 3)),
        ["emma"]
    );
    assert_eq!(
        get("filter[]=date+created_at+gt+2000-01-01&filter[]=string+login+le+bert"),
        ["ann", "bert"]
    );
    assert_eq!(
        get(&format!("filter[]=number+id+ge+{}", first + 3)),
        ["dave", "emma"]
    );
    assert!(get("filter[]=date+created_at+lt+2000-01-01T00:00:00Z").is_empty());
    assert_eq!(get("order=desc+string+login&per_page=2"), ["emma", "dave"]);
    assert_eq!(
        get("order=asc+string+full_name&per_page=3"),
        ["ann", "bert", "cleo"]
    );

    for bad in [
        "filter[]=string+login+eq",
        "filter[]=text+login+eq+ann",
        "filter[]=string+password+eq+x",
        "filter[]=string+login+like+ann",
        // v2's operators are not v1's.
        "filter[]=string+login+lte+bert",
        "filter[]=number+id+gte+1",
        "filter[]=string+login+nin+ann,emma",
        "filter[]=string+user_tags+nin+red",
        "filter[]=number+id+eq+one",
        "filter[]=number+id+between+1",
        "filter[]=date+created_at+gt+someday",
        "order=sideways+string+login",
        "order=asc+login",
    ] {
        let resp = emu.get(&format!("/users?{bad}"), Some(&token));
        assert_eq!(resp.status, 422, "{bad}: {}", resp.text);
    }
}

#[test]
fn by_full_name_and_by_tags() {
    let (emu, token) = fixture();
    let resp = emu.get("/users/by_full_name?full_name=smith", Some(&token));
    resp.assert(200);
    assert_eq!(logins(&resp), ["ann", "bert"]);
    assert_eq!(resp.body["total_entries"], 2);
    let resp = emu.get(
        "/users/by_full_name?full_name=jones&per_page=1&page=2",
        Some(&token),
    );
    assert_eq!(logins(&resp), ["dave"]);
    emu.get("/users/by_full_name", Some(&token)).assert(422);

    let resp = emu.get("/users/by_tags?tags=red,green", Some(&token));
    assert_eq!(logins(&resp), ["ann", "bert", "emma"]);
    let resp = emu.get("/users/by_tags?tags[]=vip&tags[]=blue", Some(&token));
    assert_eq!(logins(&resp), ["ann", "cleo"]);
    let resp = emu.get("/users/by_tags.json?tags=re", Some(&token));
    assert!(logins(&resp).is_empty(), "tags match whole tags only");
    emu.get("/users/by_tags", Some(&token)).assert(422);
}

#[test]
fn settings_disable_the_lists() {
    let (emu, token) = fixture();
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"list_users_v1": false}),
    )
    .assert(200);
    let resp = emu.get("/users", Some(&token));
    resp.assert(403);
    assert_eq!(
        resp.text,
        r#"{"errors":{"base":["Forbidden. List users API v1 is disabled"]}}"#
    );
    emu.get("/users/v2?login=ann", Some(&token)).assert(200);
    emu.get("/users/by_tags?tags=red", Some(&token)).assert(200);
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"list_users": false, "list_users_v1": true}),
    )
    .assert(200);
    for path in [
        "/users",
        "/users/v2?login=ann",
        "/users/by_tags?tags=red",
        "/users/by_full_name?full_name=ann",
    ] {
        emu.get(path, Some(&token)).assert(403);
    }
}

#[test]
fn the_name_search_follows_renames_and_deletions() {
    let (emu, token) = fixture();
    let (own, id) = emu.user("renamed");
    let rename = |name: Value| {
        emu.put(
            &format!("/users/{id}"),
            Some(&own),
            json!({"user": {"full_name": name}}),
        )
        .assert(200);
    };
    let find = |name: &str| {
        logins(&emu.get(
            &format!("/users/by_full_name?full_name={name}"),
            Some(&token),
        ))
    };
    rename(json!("Zelda Quux"));
    assert_eq!(find("quux"), ["renamed"]);
    rename(json!("Zelda Frob"));
    assert!(find("quux").is_empty());
    assert_eq!(find("zelda%20f"), ["renamed"]);
    rename(Value::Null);
    assert!(find("zelda").is_empty());
    rename(json!("Zelda Again"));
    emu.delete(&format!("/users/{id}"), Some(&own)).assert(200);
    assert!(find("zelda").is_empty());
    assert_eq!(
        find("sm"),
        ["ann", "bert"],
        "short names read the name index in full"
    );
}
