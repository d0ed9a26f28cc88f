//! Parsing realistic answers of every users operation, with fields missing,
//! null, or in the other shapes the service sends.

use cube_proto::model::{PageV1, PageV2};
use cube_proto::ops::{
    DeleteUser, DeleteUserByExternalId, FindUsersV1, GetUser, GetUserV1, ListUsers, NewUser,
    Operation, ResetPassword, SearchUsers, SignUp, UpdateUser, UserUpdate,
};
use cube_proto::wire::Response;
use cube_proto::{Error, User};

fn response(status: u16, body: &str) -> Response {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

const FULL_USER: &str = r#"{"id": 51941, "login": "Dacia", "email": "dacia_k@domain.com",
    "full_name": "Dacia Kail", "phone": "+6110797757", "website": null,
    "created_at": "2018-12-06T09:16:26Z", "updated_at": "2018-12-06T09:16:26Z",
    "last_request_at": null, "external_user_id": null, "external_id": null,
    "facebook_id": "91234409", "twitter_id": null, "blob_id": null,
    "custom_data": null, "avatar": null, "user_tags": "vip,accountant",
    "timezone": 180, "is_guest": false}"#;

fn check_full(user: &User) {
    assert_eq!(user.id, 51941);
    assert_eq!(user.login.as_deref(), Some("Dacia"));
    assert_eq!(user.email.as_deref(), Some("dacia_k@domain.com"));
    assert_eq!(user.phone.as_deref(), Some("+6110797757"));
    assert_eq!(user.website, None);
    assert_eq!(user.facebook_id.as_deref(), Some("91234409"));
    assert_eq!(user.user_tags, ["vip", "accountant"]);
    assert_eq!(user.timezone, Some(180));
    assert_eq!(user.is_guest, Some(false));
    assert_eq!(user.created_at.unwrap().unix_timestamp(), 1_544_087_786);
    assert_eq!(user.last_request_at, None);
}

#[test]
fn sign_up_and_update_answer_the_wrapped_user() {
    let signup = SignUp::new(NewUser::with_login("Dacia", "s3cret-pass"));
    let update = UpdateUser::new(51941, UserUpdate::new().full_name("Dacia Kail"));
    let wrapped = format!(r#"{{"user": {FULL_USER}}}"#);
    check_full(&signup.parse(&response(201, &wrapped)).unwrap());
    check_full(&update.parse(&response(200, &wrapped)).unwrap());
    // Older servers: the bare user.
    check_full(&signup.parse(&response(201, FULL_USER)).unwrap());
    check_full(&update.parse(&response(200, FULL_USER)).unwrap());
}

#[test]
fn a_sparse_user_with_nulls_numbers_as_strings_and_unknown_fields() {
    let body = r#"{"user": {"id": "81", "login": null, "email": 12345,
        "external_user_id": 777, "user_tags": ["a", "b,c"], "timezone": "-60",
        "is_guest": "1", "created_at": 1544087786, "updated_at": "not a date",
        "blob_id": "9", "new_field": {"nested": [1, 2]}}}"#;
    let user = SignUp::new(NewUser::with_login("x", "s3cret-pass"))
        .parse(&response(201, body))
        .unwrap();
    assert_eq!(user.id, 81);
    assert_eq!(user.login, None);
    assert_eq!(user.email.as_deref(), Some("12345"));
    assert_eq!(user.external_user_id, Some(777));
    assert_eq!(user.user_tags, ["a", "b", "c"]);
    assert_eq!(user.timezone, Some(-60));
    assert_eq!(user.is_guest, Some(true));
    assert_eq!(user.created_at.unwrap().unix_timestamp(), 1_544_087_786);
    assert_eq!(user.updated_at, None);
    assert_eq!(user.blob_id, Some(9));
}

#[test]
fn a_user_without_an_id_or_a_garbage_body_is_a_decode_error() {
    let op = UpdateUser::new(1, UserUpdate::new());
    for body in [
        r#"{"user": {"login": "x"}}"#,
        r#"{"user": null}"#,
        "",
        "<html>oops</html>",
    ] {
        let err = op.parse(&response(200, body)).unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{body}: {err:?}");
    }
}

#[test]
fn single_look_ups_find_one_or_nobody() {
    let op = GetUser::by_login("Dacia");
    let found = format!(r#"{{"skip": 0, "limit": 1, "total_entries": 1, "items": [{FULL_USER}]}}"#);
    check_full(&op.parse(&response(200, &found)).unwrap().unwrap());
    for nobody in [
        r#"{"skip": 0, "limit": 1, "total_entries": 0, "items": []}"#,
        r#"{"skip": 0, "limit": 1, "total_entries": 0, "items": null}"#,
        r#"{"total_entries": 0}"#,
        r#"{}"#,
    ] {
        assert_eq!(op.parse(&response(200, nobody)).unwrap(), None, "{nobody}");
    }
    for op in [
        GetUser::by_id(1),
        GetUser::by_email("a@b.c"),
        GetUser::by_external_id("e"),
        GetUser::by_facebook_id("f"),
        GetUser::by_twitter_id("t"),
    ] {
        let user = op
            .parse(&response(200, r#"{"items": [{"id": "1"}]}"#))
            .unwrap();
        assert_eq!(user, Some(User::with_id(1)));
    }
}

#[test]
fn v2_pages_parse_with_missing_counters() {
    let op = SearchUsers::by_tags(["vip"]).unwrap();
    let body = format!(
        r#"{{"skip": 0, "limit": 10, "total_entries": 3, "items": [{FULL_USER}, {{"id": 2, "user_tags": null}}]}}"#
    );
    let page: PageV2 = op.parse(&response(200, &body)).unwrap();
    assert_eq!((page.skip, page.limit, page.total_entries), (0, 10, 3));
    check_full(&page.items[0]);
    assert!(page.items[1].user_tags.is_empty());
    let page = op
        .parse(&response(
            200,
            r#"{"skip": null, "limit": "5", "items": []}"#,
        ))
        .unwrap();
    assert_eq!((page.skip, page.limit, page.total_entries), (0, 5, 0));
    assert!(page.items.is_empty());
}

#[test]
fn v1_pages_unwrap_their_items() {
    let op = ListUsers::new();
    let body = format!(
        r#"{{"current_page": 1, "per_page": 10, "total_entries": 12,
            "items": [{{"user": {FULL_USER}}}, {{"user": {{"id": 7, "login": "bob"}}}}]}}"#
    );
    let page: PageV1 = op.parse(&response(200, &body)).unwrap();
    assert_eq!(
        (page.current_page, page.per_page, page.total_entries),
        (1, 10, 12)
    );
    check_full(&page.items[0]);
    assert_eq!(page.items[1].login.as_deref(), Some("bob"));
    assert!(page.has_more());
    let next = op.next_page(&page).unwrap();
    assert_eq!(next, ListUsers::new().page(2));
    let last = op
        .parse(&response(
            200,
            r#"{"current_page": "2", "per_page": 10, "total_entries": 12, "items": [{"id": 11}, {"id": 12}]}"#,
        ))
        .unwrap();
    assert!(!last.has_more());
    assert_eq!(next.next_page(&last), None);
    let empty = op.parse(&response(200, r#"{"items": null}"#)).unwrap();
    assert!(empty.items.is_empty() && !empty.has_more());
}

#[test]
fn empty_answers_of_deletes_and_reset() {
    for body in ["", " ", "{}", "null", "<html></html>"] {
        DeleteUser::new(1).parse(&response(200, body)).unwrap();
        DeleteUserByExternalId::new("e")
            .unwrap()
            .parse(&response(200, body))
            .unwrap();
        ResetPassword::new("a@b.c")
            .unwrap()
            .parse(&response(200, body))
            .unwrap();
    }
}

#[test]
fn v1_look_ups_answer_the_wrapped_user_or_a_v1_page() {
    let wrapped = format!(r#"{{"user": {FULL_USER}}}"#);
    for op in [
        GetUserV1::by_id(51941),
        GetUserV1::by_login("Dacia"),
        GetUserV1::by_email("dacia_k@domain.com"),
        GetUserV1::by_facebook_id("91234409"),
        GetUserV1::by_twitter_id("1"),
        GetUserV1::by_external_id("e"),
    ] {
        check_full(&op.parse(&response(200, &wrapped)).unwrap());
        check_full(&op.parse(&response(200, FULL_USER)).unwrap());
        assert!(matches!(
            op.parse(&response(200, r#"{"user": null}"#)),
            Err(Error::Decode(_))
        ));
    }
    let op = FindUsersV1::by_tags(["vip"]).unwrap();
    let page = op
        .parse(&response(
            200,
            &format!(
                r#"{{"current_page": 1, "per_page": 1, "total_entries": 2, "items": [{{"user": {FULL_USER}}}]}}"#
            ),
        ))
        .unwrap();
    check_full(&page.items[0]);
    let next = op.next_page(&page).unwrap();
    assert_eq!(next, FindUsersV1::by_tags(["vip"]).unwrap().page(2));
    let page = FindUsersV1::by_full_name("x")
        .unwrap()
        .parse(&response(
            200,
            r#"{"current_page": 1, "per_page": 10, "total_entries": 0, "items": []}"#,
        ))
        .unwrap();
    assert!(page.items.is_empty() && !page.has_more());
}
