//! The exact request every users operation produces: method, path, query
//! (order-independent), headers and JSON body; and what is refused before
//! a request exists.

use cube_proto::ops::{
    Access, DeleteUser, DeleteUserByExternalId, FindUsersV1, GetUser, GetUserV1, ListUsers,
    NewUser, Operation, ResetPassword, SearchUsers, SignUp, Transition, UpdateUser, UserUpdate,
    V1Filter, V1Operator, V1Type,
};
use cube_proto::search::Direction;
use cube_proto::wire::{Request, RequestContext};
use cube_proto::{Config, Error, Secret, query};
use serde_json::{Value, json};
use time::OffsetDateTime;

const BASE: &str = "http://127.0.0.1:9/api";

fn config() -> Config {
    Config::builder(1, "29WfrNWdvkhmX6V")
        .base_url(BASE)
        .build()
        .unwrap()
}

fn try_build(token: Option<&str>, op: &impl Operation) -> Result<Request, Error> {
    let config = config();
    let token = token.map(Secret::new);
    let ctx = RequestContext {
        config: &config,
        token: token.as_ref(),
        now: OffsetDateTime::UNIX_EPOCH,
        nonce: 1,
    };
    op.build(&ctx)
}

fn build(token: Option<&str>, op: &impl Operation) -> Request {
    try_build(token, op).unwrap()
}

/// The parts of a request a test compares, queries as a sorted multiset.
#[derive(Debug, PartialEq)]
struct Shape {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
}

fn shape(req: &Request) -> Shape {
    let mut query = query::pairs(req.uri().query().unwrap_or("")).unwrap();
    query.sort();
    let mut headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    let path = req.uri().path().strip_prefix("/api").unwrap().to_owned();
    assert_eq!(
        format!(
            "{}://{}",
            req.uri().scheme_str().unwrap(),
            req.uri().authority().unwrap()
        ),
        "http://127.0.0.1:9"
    );
    Shape {
        method: req.method().to_string(),
        path,
        query,
        headers,
        body: (!req.body().is_empty()).then(|| serde_json::from_slice(req.body()).unwrap()),
    }
}

fn expect(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Shape {
    let mut query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    query.sort();
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    headers.push((
        "cb-sdk".into(),
        concat!("Rust ", env!("CARGO_PKG_VERSION"), " - Client").into(),
    ));
    if body.is_some() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    headers.sort();
    Shape {
        method: method.into(),
        path: path.into(),
        query,
        headers,
        body,
    }
}

const TOKEN: (&str, &str) = ("cb-token", "tok-81");

fn invalid(result: Result<Request, Error>) -> (&'static str, String) {
    match result {
        Err(Error::InvalidInput(e)) => (e.field, e.reason),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn sign_up_without_a_session_carries_the_auth_key_and_no_token() {
    let op = SignUp::new(
        NewUser::with_login("dacia", "s3cret-pass")
            .email("dacia_k@domain.com")
            .full_name("Dacia Kail")
            .phone("+6110797757")
            .website("https://dacia.example")
            .external_id("ext-1")
            .external_user_id(777)
            .facebook_id("91234409")
            .twitter_id("55")
            .custom_data(r#"{"plan":"pro"}"#)
            .timezone(180)
            .tags(["vip", "accountant"])
            .avatar("9a1bc2d3e4"),
    );
    assert_eq!(op.access(), Access::Optional);
    assert_eq!(
        shape(&build(None, &op)),
        expect(
            "POST",
            "/users",
            &[],
            &[("cb-authkey", "29WfrNWdvkhmX6V")],
            Some(json!({"user": {
                "login": "dacia", "email": "dacia_k@domain.com", "password": "s3cret-pass",
                "full_name": "Dacia Kail", "phone": "+6110797757",
                "website": "https://dacia.example", "external_id": "ext-1",
                "external_user_id": 777, "facebook_id": "91234409", "twitter_id": "55",
                "custom_data": "{\"plan\":\"pro\"}", "timezone": 180,
                "tag_list": "vip,accountant", "avatar": "9a1bc2d3e4"}})),
        )
    );
    assert_eq!(
        op.transition(&cube_proto::User::with_id(1)),
        Transition::None
    );
}

#[test]
fn sign_up_under_a_session_carries_the_token_and_no_auth_key() {
    let op = SignUp::new(NewUser::with_email("ann@example.com", "s3cret-pass"));
    assert_eq!(
        shape(&build(Some("tok-81"), &op)),
        expect(
            "POST",
            "/users",
            &[],
            &[TOKEN],
            Some(json!({"user": {"email": "ann@example.com", "password": "s3cret-pass"}})),
        )
    );
}

#[test]
fn sign_up_refuses_what_the_server_would() {
    let cases: Vec<(NewUser, &str)> = vec![
        (NewUser::with_login("", "s3cret-pass"), "login"),
        (NewUser::with_email("  ", "s3cret-pass"), "login"),
        (NewUser::with_login("ann", "short"), "password"),
        (NewUser::with_login("ann", "x".repeat(41)), "password"),
        (
            NewUser::with_login("ann", "s3cret-pass").tags(["a", "b", "c", "d", "e", "f"]),
            "tag_list",
        ),
        (
            NewUser::with_login("ann", "s3cret-pass").tags(["a,b"]),
            "tag_list",
        ),
        (
            NewUser::with_login("ann", "s3cret-pass").full_name("é".repeat(201)),
            "full_name",
        ),
    ];
    for (user, field) in cases {
        let (got, reason) = invalid(try_build(None, &SignUp::new(user)));
        assert_eq!(got, field, "{reason}");
    }
    // Limits count characters, not bytes.
    for ok in [
        NewUser::with_login("ann", "é".repeat(8)),
        NewUser::with_login("ann", "x".repeat(40)),
        NewUser::with_login("ann", "s3cret-pass")
            .tags(["a", "b", "c", "d", "e"])
            .full_name("é".repeat(200)),
    ] {
        try_build(None, &SignUp::new(ok)).unwrap();
    }
}

#[test]
fn update_self_sends_only_what_changes() {
    let op = UpdateUser::new(
        81,
        UserUpdate::new()
            .full_name("Dacia K.")
            .tags(["vip"])
            .avatar("9a1bc2d3e4")
            .external_user_id(u64::MAX),
    );
    assert_eq!(op.access(), Access::Write);
    assert_eq!(
        shape(&build(Some("tok-81"), &op)),
        expect(
            "PUT",
            "/users/81",
            &[],
            &[TOKEN],
            Some(
                json!({"user": {"full_name": "Dacia K.", "tag_list": "vip", "avatar": "9a1bc2d3e4",
                                "external_user_id": u64::MAX}})
            ),
        )
    );
    let op = UpdateUser::new(
        81,
        UserUpdate::new()
            .login("dacia2")
            .email("d2@example.com")
            .password("n3w-passw0rd")
            .old_password("s3cret-pass"),
    );
    assert_eq!(
        shape(&build(Some("tok-81"), &op)).body,
        Some(
            json!({"user": {"login": "dacia2", "email": "d2@example.com",
            "password": "n3w-passw0rd", "old_password": "s3cret-pass"}})
        )
    );
}

#[test]
fn update_refuses_a_password_change_without_the_old_password() {
    for update in [
        UserUpdate::new().password("n3w-passw0rd"),
        UserUpdate::new().password("n3w-passw0rd").old_password(""),
    ] {
        let (field, _) = invalid(try_build(Some("tok-81"), &UpdateUser::new(81, update)));
        assert_eq!(field, "old_password");
    }
    let cases = [
        (
            UserUpdate::new()
                .password("short")
                .old_password("s3cret-pass"),
            "password",
        ),
        (UserUpdate::new().login(""), "login"),
        (UserUpdate::new().email(""), "email"),
        (
            UserUpdate::new().tags(["1", "2", "3", "4", "5", "6"]),
            "tag_list",
        ),
        (UserUpdate::new().full_name("x".repeat(201)), "full_name"),
    ];
    for (update, want) in cases {
        let (field, _) = invalid(try_build(Some("tok-81"), &UpdateUser::new(81, update)));
        assert_eq!(field, want);
    }
}

#[test]
fn passwords_never_show_in_debug() {
    let user = NewUser::with_login("ann", "hunter2-hunter2");
    let update = UserUpdate::new()
        .password("n3w-passw0rd")
        .old_password("hunter2-hunter2");
    let shown = format!(
        "{user:?} {update:?} {:?} {:?}",
        SignUp::new(user.clone()),
        UpdateUser::new(1, update.clone())
    );
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("n3w-passw0rd"), "{shown}");
}

#[test]
fn delete_self_ends_the_session() {
    let op = DeleteUser::new(81);
    assert_eq!(op.access(), Access::Write);
    assert_eq!(
        shape(&build(Some("tok-81"), &op)),
        expect("DELETE", "/users/81", &[], &[TOKEN], None)
    );
    assert_eq!(op.transition(&()), Transition::Ended);

    let op = DeleteUserByExternalId::new("a b/c?#+é").unwrap();
    assert_eq!(op.access(), Access::Write);
    let req = build(Some("tok-81"), &op);
    assert_eq!(
        req.uri().path(),
        "/api/users/external/a%20b%2Fc%3F%23%2B%C3%A9"
    );
    assert_eq!(
        shape(&req),
        expect(
            "DELETE",
            "/users/external/a%20b%2Fc%3F%23%2B%C3%A9",
            &[],
            &[TOKEN],
            None
        )
    );
    assert_eq!(op.transition(&()), Transition::Ended);
    assert_eq!(
        DeleteUserByExternalId::new("").unwrap_err().field,
        "external_id"
    );
}

#[test]
fn password_reset_is_a_read_with_the_email_in_the_query() {
    let op = ResetPassword::new("ann+1@example.com").unwrap();
    assert_eq!(op.access(), Access::Read);
    let req = build(Some("app-tok"), &op);
    assert_eq!(req.uri().query(), Some("email=ann%2B1%40example.com"));
    assert_eq!(
        shape(&req),
        expect(
            "GET",
            "/users/password/reset",
            &[("email", "ann+1@example.com")],
            &[("cb-token", "app-tok")],
            None
        )
    );
    assert_eq!(ResetPassword::new(" ").unwrap_err().field, "email");
}

#[test]
fn single_user_look_ups_go_through_v2_with_limit_1() {
    let cases = [
        (GetUser::by_id(51941), "id", "51941"),
        (GetUser::by_login("Dacia"), "login", "Dacia"),
        (
            GetUser::by_email("dacia_k@domain.com"),
            "email",
            "dacia_k@domain.com",
        ),
        (GetUser::by_external_id("ext 1"), "external_id", "ext 1"),
        (
            GetUser::by_facebook_id("91234409"),
            "facebook_id",
            "91234409",
        ),
        (GetUser::by_twitter_id("12&34"), "twitter_id", "12&34"),
    ];
    for (op, field, value) in cases {
        assert_eq!(op.access(), Access::Read);
        assert_eq!(
            shape(&build(Some("tok-81"), &op)),
            expect(
                "GET",
                "/users/v2",
                &[(field, value), ("limit", "1")],
                &[TOKEN],
                None
            )
        );
    }
    let req = build(Some("t"), &GetUser::by_twitter_id("12&34"));
    assert_eq!(req.uri().query(), Some("twitter_id=12%2634&limit=1"));
    // An empty value would not be a filter at all.
    assert!(matches!(
        try_build(Some("t"), &GetUser::by_login("")),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn multi_user_look_ups_go_through_v2() {
    let cases = [
        (
            SearchUsers::by_ids([1, 2, 3]).unwrap(),
            vec![("id[in][]", "1"), ("id[in][]", "2"), ("id[in][]", "3")],
            "id[in][]=1&id[in][]=2&id[in][]=3",
        ),
        (
            SearchUsers::by_full_name("Zoë Kail & co").unwrap(),
            vec![("full_name[start_with]", "Zoë Kail & co"), ("limit", "5")],
            "full_name[start_with]=Zo%C3%AB%20Kail%20%26%20co&limit=5",
        ),
        (
            // Under 4 characters: the server refuses start_with, so exact.
            SearchUsers::by_full_name("Zoë").unwrap(),
            vec![("full_name", "Zoë")],
            "full_name=Zo%C3%AB",
        ),
        (
            SearchUsers::by_phone("+61 107 977").unwrap(),
            vec![("phone", "+61 107 977")],
            "phone=%2B61%20107%20977",
        ),
        (
            SearchUsers::by_tags(["vip", "🐱 cat"]).unwrap(),
            vec![("user_tags[in][]", "vip"), ("user_tags[in][]", "🐱 cat")],
            "user_tags[in][]=vip&user_tags[in][]=%F0%9F%90%B1%20cat",
        ),
    ];
    for (op, query, raw) in cases {
        assert_eq!(op.access(), Access::Read);
        let req = build(Some("tok-81"), &op);
        assert_eq!(req.uri().query(), Some(raw));
        assert_eq!(
            shape(&req),
            expect("GET", "/users/v2", &query, &[TOKEN], None)
        );
    }
    assert!(SearchUsers::by_ids([]).is_err());
    assert!(SearchUsers::by_tags(Vec::<String>::new()).is_err());
    assert!(SearchUsers::by_phone("").is_err());
}

#[test]
fn v1_list_with_filters_order_and_page() {
    let op = ListUsers::new()
        .filter(V1Filter::new(V1Type::Number, "id", V1Operator::Gt, ["5"]))
        .filter(V1Filter::new(V1Type::Number, "id", V1Operator::Le, ["900"]))
        .filter(V1Filter::new(
            V1Type::Date,
            "updated_at",
            V1Operator::Ge,
            ["2018-06-01"],
        ))
        .filter(V1Filter::new(
            V1Type::String,
            "login",
            V1Operator::In,
            ["ann", "bob"],
        ))
        .filter(V1Filter::new(
            V1Type::Date,
            "created_at",
            V1Operator::Between,
            ["2018-01-01", "2019-01-01"],
        ))
        .filter(V1Filter::new(
            V1Type::String,
            "full_name",
            V1Operator::Eq,
            ["Dacia Kail+1"],
        ))
        .order(Direction::Ascending, V1Type::String, "login")
        .page(3)
        .per_page(100);
    assert_eq!(op.access(), Access::Read);
    let req = build(Some("tok-81"), &op);
    assert_eq!(
        shape(&req),
        expect(
            "GET",
            "/users",
            &[
                ("filter[]", "number id gt 5"),
                ("filter[]", "number id le 900"),
                ("filter[]", "date updated_at ge 2018-06-01"),
                ("filter[]", "string login in ann,bob"),
                ("filter[]", "date created_at between 2018-01-01,2019-01-01"),
                ("filter[]", "string full_name eq Dacia Kail+1"),
                ("order", "asc string login"),
                ("page", "3"),
                ("per_page", "100"),
            ],
            &[TOKEN],
            None
        )
    );
    assert!(
        req.uri()
            .query()
            .unwrap()
            .contains("filter[]=string%20full_name%20eq%20Dacia%20Kail%2B1")
    );
    // Without anything: no query at all.
    assert_eq!(
        shape(&build(Some("tok-81"), &ListUsers::new())),
        expect("GET", "/users", &[], &[TOKEN], None)
    );
}

#[test]
fn v1_operators_are_the_eight_the_service_documents() {
    let names: Vec<&str> = V1Operator::ALL.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["gt", "lt", "ge", "le", "eq", "ne", "between", "in"]);
    for op in V1Operator::ALL {
        assert_eq!(V1Operator::from_name(op.name()), Some(op));
    }
    // The v2 spellings are not v1 operators.
    for v2 in ["gte", "lte", "nin", "start_with", "GE", ""] {
        assert_eq!(V1Operator::from_name(v2), None, "{v2}");
    }
    // A comma inside one value of a single-value operator is the value's own.
    let op = ListUsers::new().filter(V1Filter::new(
        V1Type::String,
        "full_name",
        V1Operator::Eq,
        ["Kail, Dacia"],
    ));
    assert_eq!(
        shape(&build(Some("tok-81"), &op)),
        expect(
            "GET",
            "/users",
            &[("filter[]", "string full_name eq Kail, Dacia")],
            &[TOKEN],
            None
        )
    );
}

#[test]
fn v1_list_refuses_malformed_filters() {
    let bad = [
        ListUsers::new().filter(V1Filter::new(V1Type::Number, "id", V1Operator::Gt, ["x"])),
        ListUsers::new().filter(V1Filter::new(
            V1Type::Number,
            "id",
            V1Operator::Between,
            ["1"],
        )),
        ListUsers::new().filter(V1Filter::new(
            V1Type::String,
            "login",
            V1Operator::In,
            Vec::<String>::new(),
        )),
        ListUsers::new().filter(V1Filter::new(
            V1Type::String,
            "login",
            V1Operator::In,
            ["a,b", "c"],
        )),
        // One value of `in` with a comma would reach the server as two.
        ListUsers::new().filter(V1Filter::new(
            V1Type::String,
            "login",
            V1Operator::In,
            ["a,b"],
        )),
        ListUsers::new().filter(V1Filter::new(
            V1Type::Date,
            "created_at",
            V1Operator::Between,
            ["2018-01-01,x", "2019-01-01"],
        )),
        ListUsers::new().filter(V1Filter::new(
            V1Type::String,
            "login",
            V1Operator::Ne,
            ["a", "b"],
        )),
        ListUsers::new().filter(V1Filter::new(
            V1Type::String,
            "log in",
            V1Operator::Eq,
            ["a"],
        )),
        ListUsers::new().order(Direction::Descending, V1Type::String, ""),
        ListUsers::new().page(0),
        ListUsers::new().per_page(101),
        ListUsers::new().per_page(0),
    ];
    for op in bad {
        assert!(
            matches!(try_build(Some("t"), &op), Err(Error::InvalidInput(_))),
            "{op:?}"
        );
    }
}

#[test]
fn v1_single_look_ups_use_their_dedicated_endpoints() {
    let cases = [
        (GetUserV1::by_id(51941), "/users/51941", vec![]),
        (
            GetUserV1::by_login("Dacia K"),
            "/users/by_login",
            vec![("login", "Dacia K")],
        ),
        (
            GetUserV1::by_email("d+k@x.io"),
            "/users/by_email",
            vec![("email", "d+k@x.io")],
        ),
        (
            GetUserV1::by_facebook_id("91234409"),
            "/users/by_facebook_id",
            vec![("facebook_id", "91234409")],
        ),
        (
            GetUserV1::by_twitter_id("77"),
            "/users/by_twitter_id",
            vec![("twitter_id", "77")],
        ),
        (
            GetUserV1::by_external_id("ext/1 é"),
            "/users/external/ext%2F1%20%C3%A9",
            vec![],
        ),
    ];
    for (op, path, query) in cases {
        assert_eq!(op.access(), Access::Read);
        assert_eq!(
            shape(&build(Some("tok-81"), &op)),
            expect("GET", path, &query, &[TOKEN], None)
        );
    }
    let req = build(Some("t"), &GetUserV1::by_email("d+k@x.io"));
    assert_eq!(req.uri().query(), Some("email=d%2Bk%40x.io"));
    for op in [
        GetUserV1::by_login(""),
        GetUserV1::by_email(""),
        GetUserV1::by_facebook_id(""),
        GetUserV1::by_twitter_id(""),
        GetUserV1::by_external_id(""),
    ] {
        assert!(matches!(
            try_build(Some("t"), &op),
            Err(Error::InvalidInput(_))
        ));
    }
}

#[test]
fn v1_paged_look_ups() {
    let op = FindUsersV1::by_full_name("Dacia Kail")
        .unwrap()
        .page(2)
        .per_page(10);
    assert_eq!(op.access(), Access::Read);
    assert_eq!(
        shape(&build(Some("tok-81"), &op)),
        expect(
            "GET",
            "/users/by_full_name",
            &[
                ("full_name", "Dacia Kail"),
                ("page", "2"),
                ("per_page", "10")
            ],
            &[TOKEN],
            None
        )
    );
    let op = FindUsersV1::by_tags(["vip", "a b"]).unwrap();
    let req = build(Some("tok-81"), &op);
    assert_eq!(req.uri().query(), Some("tags=vip%2Ca%20b"));
    assert_eq!(
        shape(&req),
        expect(
            "GET",
            "/users/by_tags",
            &[("tags", "vip,a b")],
            &[TOKEN],
            None
        )
    );
    assert_eq!(
        FindUsersV1::by_full_name("").unwrap_err().field,
        "full_name"
    );
    assert_eq!(
        FindUsersV1::by_tags(Vec::<String>::new())
            .unwrap_err()
            .field,
        "tags"
    );
    assert_eq!(FindUsersV1::by_tags(["a,b"]).unwrap_err().field, "tags");
    for bad in [op.clone().page(0), op.clone().per_page(0), op.per_page(101)] {
        assert!(matches!(
            try_build(Some("t"), &bad),
            Err(Error::InvalidInput(_))
        ));
    }
}
