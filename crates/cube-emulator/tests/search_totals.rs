//! `total_entries` follows every kind of write that can change it, asked
//! again and again (the emulator remembers totals between writes).

mod common;

use common::Emu;
use serde_json::{Value, json};

/// The total of a v2 search, asked twice (the second answer may come from
/// what the emulator remembers; both must be right).
fn total(emu: &Emu, token: &str, query: &str) -> i64 {
    let path = if query.starts_with("filter[]") {
        format!("/users?{query}")
    } else {
        format!("/users/v2?{query}")
    };
    let mut totals = (0..2).map(|_| {
        let resp = emu.get(&path, Some(token));
        resp.assert(200);
        resp.body["total_entries"].as_i64().unwrap()
    });
    let first = totals.next().unwrap();
    assert_eq!(totals.next(), Some(first), "{query}");
    first
}

fn update(emu: &Emu, token: &str, id: i64, fields: Value) {
    emu.put(
        &format!("/users/{id}"),
        Some(token),
        json!({ "user": fields }),
    )
    .assert(200);
}

/// Every searchable field: two users hold one of two values; one changes
/// to a third and back, and the total of the two values follows.
#[test]
fn a_profile_update_of_each_searchable_field_changes_the_total() {
    let emu = Emu::start();
    let app = emu.app_session();
    let cases: [(&str, Value, Value, Value); 12] = [
        ("login", json!("first1"), json!("second2"), json!("third3")),
        (
            "email",
            json!("a@x.com"),
            json!("b@x.com"),
            json!("c@x.com"),
        ),
        ("full_name", json!("Ann"), json!("Bob"), json!("Cid")),
        ("phone", json!("+1"), json!("+2"), json!("+3")),
        ("website", json!("a.com"), json!("b.com"), json!("c.com")),
        ("external_user_id", json!(21), json!("22"), json!(23)),
        ("external_id", json!("x1"), json!("x2"), json!("x3")),
        ("facebook_id", json!("f1"), json!("f2"), json!("f3")),
        ("twitter_id", json!("t1"), json!("t2"), json!("t3")),
        ("blob_id", json!(11), json!(12), json!(13)),
        ("timezone", json!(1), json!(2), json!(3)),
        ("tag_list", json!("ta"), json!("tb"), json!("tc")),
    ];
    for (n, (field, a, b, c)) in cases.into_iter().enumerate() {
        let mut users = Vec::new();
        for (i, value) in [&a, &b].into_iter().enumerate() {
            let login = format!("u{n}-{i}");
            let mut fields = json!({"login": login, "password": "password123"});
            if field != "login" {
                fields[field] = value.clone();
            } else {
                fields["login"] = value.clone();
            }
            let login = fields["login"].as_str().unwrap().to_owned();
            emu.sign_up(fields);
            users.push(emu.login(&login, "password123"));
        }
        let name = if field == "tag_list" {
            "user_tags"
        } else {
            field
        };
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (a_text, b_text) = (urlencode(&text(&a)), urlencode(&text(&b)));
        // The fields v2 cannot search on are searched through v1's filters.
        let query = match field {
            "website" => {
                format!("filter[]=string+{name}+in+{a_text},{b_text}&per_page=1")
            }
            "blob_id" | "timezone" | "external_user_id" => {
                format!("filter[]=number+{name}+in+{a_text},{b_text}&per_page=1")
            }
            _ => format!("{name}[in][]={a_text}&{name}[in][]={b_text}&limit=1"),
        };
        assert_eq!(total(&emu, &app, &query), 2, "{field}");
        let (token, id) = &users[1];
        update(&emu, token, *id, json!({ field: c }));
        assert_eq!(total(&emu, &app, &query), 1, "{field} changed");
        update(&emu, token, *id, json!({ field: b }));
        assert_eq!(total(&emu, &app, &query), 2, "{field} changed back");
    }
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace('@', "%40")
}

#[test]
fn sign_ups_deletes_imports_and_a_wipe_change_the_total() {
    let emu = Emu::start();
    let app = emu.app_session();
    let everyone = "login[start_with]=user&limit=1";
    let tagged = "user_tags=team&limit=1";
    for i in 0..3 {
        emu.sign_up(
            json!({"login": format!("user{i}"), "password": "password123", "tag_list": "team"}),
        );
    }
    assert_eq!(total(&emu, &app, everyone), 3);
    assert_eq!(total(&emu, &app, tagged), 3);

    // Sign-up.
    let (token, id) = emu.user("user9");
    assert_eq!(total(&emu, &app, everyone), 4);
    assert_eq!(total(&emu, &app, tagged), 3);
    // A tag change.
    update(&emu, &token, id, json!({"tag_list": "team,other"}));
    assert_eq!(total(&emu, &app, tagged), 4);
    update(&emu, &token, id, json!({"tag_list": ""}));
    assert_eq!(total(&emu, &app, tagged), 3);
    // Delete.
    emu.delete(&format!("/users/{id}"), Some(&token))
        .assert(200);
    assert_eq!(total(&emu, &app, everyone), 3);

    // The admin import.
    emu.post(
        "/_emulator/apps/1/users",
        None,
        json!({"users": [
            {"login": "user-import-1", "tag_list": "team"},
            {"login": "user-import-2"},
        ]}),
    )
    .assert(201);
    assert_eq!(total(&emu, &app, everyone), 5);
    assert_eq!(total(&emu, &app, tagged), 4);

    // The data wipe.
    emu.delete("/_emulator/data", None).assert(200);
    let app = emu.app_session();
    assert_eq!(total(&emu, &app, everyone), 0);
    assert_eq!(total(&emu, &app, tagged), 0);
    emu.sign_up(json!({"login": "user-after", "password": "password123", "tag_list": "team"}));
    assert_eq!(total(&emu, &app, everyone), 1);
    assert_eq!(total(&emu, &app, tagged), 1);
}

/// A guest leaves the totals when its day ends, by the clock alone.
#[test]
fn a_guest_leaves_the_total_when_its_day_ends() {
    let emu = Emu::frozen();
    for i in 0..2 {
        emu.sign_up(json!({"login": format!("user{i}"), "password": "password123", "full_name": "Some Name"}));
    }
    emu.create_session(json!({"user": {"guest": 1, "full_name": "Some Visitor"}}))
        .assert(201);
    let app = emu.app_session();
    let named = "full_name[start_with]=Some&limit=1";
    assert_eq!(total(&emu, &app, named), 3);
    emu.advance(24 * 3600 - 1);
    let app = emu.app_session();
    assert_eq!(total(&emu, &app, named), 3);
    emu.advance(1);
    let app = emu.app_session();
    assert_eq!(total(&emu, &app, named), 2);
}

/// `updated_at` moves with any profile change, and so does its total.
#[test]
fn updated_at_totals_follow_updates() {
    let emu = Emu::frozen();
    let (token, id) = emu.user("user-upd");
    emu.user("user-other");
    let app = emu.app_session();
    let later = emu.now() + 100;
    let query = format!("login[start_with]=user&updated_at[gte]={later}&limit=1");
    assert_eq!(total(&emu, &app, &query), 0);
    emu.advance(200);
    let app = emu.app_session();
    assert_eq!(total(&emu, &app, &query), 0);
    update(&emu, &token, id, json!({"custom_data": "{}"}));
    assert_eq!(total(&emu, &app, &query), 1);
}
