//! `GET /users/v2`: every filter, operator and validity rule, sorting,
//! offset and limit.

mod common;

use common::Emu;
use serde_json::json;

/// Seven "alpha" users and two others; returns (emulator, app token, ids).
fn fixture() -> (Emu, String, Vec<i64>) {
    let emu = Emu::start();
    let mut ids = Vec::new();
    for i in 1..=7 {
        let tags = match i {
            1 => "vip,red",
            2 => "red",
            _ => "",
        };
        let user = emu.sign_up(json!({
            "login": format!("alpha{i}"), "email": format!("Alpha{i}@Example.com"),
            "full_name": format!("User Alpha {i}"), "phone": format!("+10{i}"),
            "external_id": format!("e{i}"), "facebook_id": format!("fb{i}"), "twitter_id": format!("tw{i}"),
            "tag_list": tags, "password": "password123"
        }));
        ids.push(user["id"].as_i64().unwrap());
    }
    for login in ["beta8", "gamma9"] {
        let user =
            emu.sign_up(json!({"login": login, "tag_list": "blue", "password": "password123"}));
        ids.push(user["id"].as_i64().unwrap());
    }
    let token = emu.app_session();
    (emu, token, ids)
}

fn logins(resp: &common::Resp) -> Vec<String> {
    resp.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn primary_operators_on_every_stand_alone_field() {
    let (emu, token, ids) = fixture();
    let get = |q: &str| {
        let resp = emu.get(&format!("/users/v2?{q}"), Some(&token));
        resp.assert(200);
        resp
    };
    let resp = get(&format!("id={}", ids[0]));
    assert_eq!(logins(&resp), ["alpha1"]);
    assert_eq!(resp.body["skip"], 0);
    assert_eq!(resp.body["limit"], 100);
    assert_eq!(resp.body["total_entries"], 1);
    assert!(
        resp.body["items"][0].get("user").is_none(),
        "v2 items are bare users"
    );

    assert_eq!(
        logins(&get(&format!("id[in][]={}&id[in][]={}", ids[1], ids[2]))),
        ["alpha2", "alpha3"]
    );
    assert_eq!(logins(&get("login=alpha3")), ["alpha3"]);
    assert_eq!(logins(&get("email=alpha4%40example.COM")), ["alpha4"]);
    assert_eq!(logins(&get("full_name=User%20Alpha%205")), ["alpha5"]);
    assert_eq!(logins(&get("full_name=User+Alpha+5")), ["alpha5"]);
    assert_eq!(logins(&get("phone=%2B106")), ["alpha6"]);
    assert_eq!(logins(&get("external_id=e7")), ["alpha7"]);
    assert_eq!(logins(&get("facebook_id=fb1")), ["alpha1"]);
    assert_eq!(logins(&get("twitter_id=tw2")), ["alpha2"]);
    assert_eq!(logins(&get("user_tags=red")), ["alpha1", "alpha2"]);
    assert_eq!(
        logins(&get("user_tags[in][]=vip&user_tags[in][]=blue")),
        ["alpha1", "beta8", "gamma9"]
    );
    assert_eq!(
        logins(&get(
            "login[in][]=alpha1&login[in][]=beta8&user_tags[nin][]=vip"
        )),
        ["beta8"]
    );
    assert_eq!(
        logins(&get("user_tags=red&login[nin][]=alpha1")),
        ["alpha2"]
    );
    assert!(logins(&get("login=nobody")).is_empty());
}

#[test]
fn start_with_needs_four_characters_and_limits_to_five() {
    let (emu, token, _) = fixture();
    let resp = emu.get("/users/v2?login[start_with]=alph&limit=50", Some(&token));
    resp.assert(200);
    assert_eq!(resp.body["limit"], 5);
    assert_eq!(resp.body["total_entries"], 7);
    assert_eq!(logins(&resp).len(), 5);
    let resp = emu.get(
        "/users/v2?full_name[start_with]=User%20Alpha%203",
        Some(&token),
    );
    assert_eq!(logins(&resp), ["alpha3"]);
    let resp = emu.get("/users/v2?login[start_with]=alp", Some(&token));
    resp.assert(422);
    assert!(!resp.error("login").is_empty());
}

#[test]
fn dates_take_compare_operators_and_eq_beside_a_primary() {
    let (emu, token, ids) = fixture();
    let now = emu.now();
    let in_a_minute = now + 60;
    let q = format!(
        "id[in][]={}&id[in][]={}&created_at[lt]={in_a_minute}",
        ids[0], ids[1]
    );
    assert_eq!(
        emu.get(&format!("/users/v2?{q}"), Some(&token)).body["total_entries"],
        2
    );
    let q = format!("login[start_with]=alpha&created_at[gt]={in_a_minute}");
    assert_eq!(
        emu.get(&format!("/users/v2?{q}"), Some(&token)).body["total_entries"],
        0
    );
    let iso = "2000-01-01T00:00:00Z";
    let q = format!("login=alpha1&updated_at[gte]={iso}&created_at[lte]=2100-01-01");
    assert_eq!(
        emu.get(&format!("/users/v2?{q}"), Some(&token)).body["total_entries"],
        1
    );
    // Nobody has made a request yet as these users: last_request_at is null.
    let q = "login=alpha1&last_request_at[gt]=0";
    assert_eq!(
        emu.get(&format!("/users/v2?{q}"), Some(&token)).body["total_entries"],
        0
    );

    // `eq` on a date beside a stand-alone primary: the exact second.
    let alpha1 = emu.get("/users/v2?login=alpha1", Some(&token));
    let created = alpha1.body["items"][0]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    for (q, total) in [
        (format!("login=alpha1&created_at={created}"), 1),
        ("login=alpha1&created_at=2020-01-01".to_owned(), 0),
    ] {
        let resp = emu.get(&format!("/users/v2?{q}"), Some(&token));
        resp.assert(200);
        assert_eq!(resp.body["total_entries"], total, "{q}");
    }

    for bad in [
        // A date is never the stand-alone primary, with `eq` neither.
        format!("created_at={created}"),
        "login=alpha1&created_at[in][]=2020-01-01".to_owned(),
        "login=alpha1&created_at[gt]=yesterday".to_owned(),
        "login=alpha1&created_at=yesterday".to_owned(),
        "login=alpha1&created_at[start_with]=2020".to_owned(),
        "id[gt]=1".to_owned(),
        "login[lt]=b&id=1".to_owned(),
    ] {
        let resp = emu.get(&format!("/users/v2?{bad}"), Some(&token));
        assert_eq!(resp.status, 422, "{bad}: {}", resp.text);
    }
}

#[test]
fn validity_rules_are_422() {
    let (emu, token, _) = fixture();
    for bad in [
        "",
        "created_at[gt]=0",
        "login[nin][]=alpha1",
        "user_tags[nin][]=red",
        "login[like]=alpha",
        "id=abc",
        "id[in][]=1&id[in][]=x",
        "nickname=alpha",
        "login=alpha1&sort_asc=password",
        "login=alpha1&limit=0",
        "login=alpha1&offset=-1",
        "login=alpha1&limit=many",
        "login[in=alpha1",
    ] {
        let resp = emu.get(&format!("/users/v2?{bad}"), Some(&token));
        assert_eq!(resp.status, 422, "{bad}: {}", resp.text);
        assert!(resp.body["errors"].is_object());
    }
    let many: Vec<String> = (0..1001).map(|i| format!("id[in][]={i}")).collect();
    emu.get(&format!("/users/v2?{}", many.join("&")), Some(&token))
        .assert(422);
    // 400 only when the query cannot be parsed at all.
    emu.get("/users/v2?login=%zz", Some(&token)).assert(400);
    emu.get("/users/v2?login=%FF", Some(&token)).assert(400);
}

#[test]
fn sorting_offset_and_limit() {
    let (emu, token, _) = fixture();
    let base = "/users/v2?login[start_with]=alph";
    let resp = emu.get(&format!("{base}&sort_desc=login"), Some(&token));
    assert_eq!(
        logins(&resp),
        ["alpha7", "alpha6", "alpha5", "alpha4", "alpha3"]
    );
    let resp = emu.get(&format!("{base}&sort_asc=full_name&offset=5"), Some(&token));
    assert_eq!(logins(&resp), ["alpha6", "alpha7"]);
    assert_eq!(resp.body["skip"], 5);

    let all = "user_tags[in][]=red&user_tags[in][]=blue&user_tags[in][]=vip";
    let resp = emu.get(
        &format!("/users/v2?{all}&limit=2&offset=1&sort_asc=id"),
        Some(&token),
    );
    assert_eq!(logins(&resp), ["alpha2", "beta8"]);
    assert_eq!(resp.body["limit"], 2);
    assert_eq!(resp.body["total_entries"], 4);
    let resp = emu.get(&format!("/users/v2?{all}&limit=1000"), Some(&token));
    assert_eq!(resp.body["limit"], 100);
    let resp = emu.get(
        &format!("/users/v2.json?{all}&sort_desc=created_at"),
        Some(&token),
    );
    assert_eq!(resp.body["items"].as_array().map(Vec::len), Some(4));
}

#[test]
fn the_application_can_disable_listing() {
    let (emu, token, _) = fixture();
    emu.put(
        "/_emulator/apps/1/settings",
        None,
        json!({"list_users": false}),
    )
    .assert(200);
    let resp = emu.get("/users/v2?login=alpha1", Some(&token));
    resp.assert(403);
    assert_eq!(
        resp.body["errors"]["base"].as_array().map(Vec::len),
        Some(1)
    );
    // Single look-ups are not lists.
    emu.get("/users/by_login?login=alpha1", Some(&token))
        .assert(200);
}

/// Long value lists are answered (995 tags once built an SQL expression too
/// deep to run: `503`); the limit is 1,000 values a list, and past it the
/// answer is a `422` naming the field.
#[test]
fn long_value_lists_are_answered_and_too_long_ones_name_their_field() {
    let (emu, token, ids) = fixture();
    let tags = |n: usize, last: &str| {
        (1..n)
            .map(|i| format!("t{i}"))
            .chain([last.to_owned()])
            .collect::<Vec<_>>()
    };
    let get = |path: String| emu.get(&path, Some(&token));

    let resp = get(format!(
        "/users/by_tags?tags={}",
        tags(995, "red").join(",")
    ));
    resp.assert(200);
    assert_eq!(resp.body["total_entries"], 2);
    let resp = get(format!(
        "/users/by_tags?tags={}",
        tags(1000, "red").join(",")
    ));
    resp.assert(200);
    assert_eq!(resp.body["total_entries"], 2);
    let resp = get(format!(
        "/users/by_tags?tags={}",
        tags(1001, "red").join(",")
    ));
    resp.assert(422);
    assert!(!resp.error("tags").is_empty(), "{}", resp.text);

    let in_list = |n: usize, last: &str| {
        tags(n, last)
            .iter()
            .map(|t| format!("user_tags[in][]={t}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let resp = get(format!("/users/v2?{}", in_list(995, "red")));
    resp.assert(200);
    assert_eq!(logins(&resp), ["alpha1", "alpha2"]);
    get(format!("/users/v2?{}", in_list(1000, "red"))).assert(200);
    let resp = get(format!("/users/v2?{}", in_list(1001, "red")));
    resp.assert(422);
    assert!(!resp.error("user_tags").is_empty(), "{}", resp.text);
    let resp = get(format!(
        "/users/v2?login=alpha1&{}",
        in_list(995, "blue").replace("[in]", "[nin]")
    ));
    resp.assert(200);
    assert_eq!(logins(&resp), ["alpha1"]);

    let id_list = |n: usize| {
        (0..n)
            .map(|i| format!("id[in][]={}", ids[0] + 10_000 + i as i64))
            .chain([format!("id[in][]={}", ids[0])])
            .collect::<Vec<_>>()
            .join("&")
    };
    let resp = get(format!("/users/v2?{}", id_list(999)));
    resp.assert(200);
    assert_eq!(logins(&resp), ["alpha1"]);
    let resp = get(format!("/users/v2?{}", id_list(1000)));
    resp.assert(422);
    assert!(!resp.error("id").is_empty(), "{}", resp.text);
}
