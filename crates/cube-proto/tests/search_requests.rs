//! `GET /users/v2`: the exact requests of the filter builder, every rule it
//! enforces before a request exists, and the paginator.

use cube_proto::model::PageV2;
use cube_proto::ops::{Access, Operation};
use cube_proto::search::{Field, Filter, Operator, Rule, SearchUsers, UserSearch, Value};
use cube_proto::wire::{Request, RequestContext};
use cube_proto::{Config, Error, Secret, query};
use time::OffsetDateTime;
use time::macros::datetime;

fn build(op: &SearchUsers) -> Request {
    let config = Config::builder(1, "key")
        .base_url("http://cube.test")
        .build()
        .unwrap();
    let token = Secret::new("tok");
    let ctx = RequestContext {
        config: &config,
        token: Some(&token),
        now: OffsetDateTime::UNIX_EPOCH,
        nonce: 0,
    };
    op.build(&ctx).unwrap()
}

fn sorted_pairs(query: &str) -> Vec<(String, String)> {
    let mut p = query::pairs(query).unwrap();
    p.sort();
    p
}

fn rule_of(search: UserSearch) -> Rule {
    match search.build() {
        Err(e) => e.rule,
        Ok(op) => panic!("expected a refusal, got {}", op.query()),
    }
}

const D: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

#[test]
fn request_shape() {
    let op = UserSearch::new()
        .eq(Field::Login, "Dacia")
        .any_of(Field::Id, [1u64, 2])
        .none_of(Field::UserTags, ["banned", "a&b"])
        .gt(Field::LastRequestAt, D)
        .lte(Field::CreatedAt, Value::Date(1_700_000_000))
        .sort_asc(Field::FullName)
        .offset(20)
        .limit(10)
        .build()
        .unwrap();
    assert_eq!(op.access(), Access::Read);
    let req = build(&op);
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri().path(), "/users/v2");
    assert!(req.body().is_empty());
    assert_eq!(req.headers().len(), 2);
    assert_eq!(req.headers()["CB-Token"], "tok");
    assert!(req.headers().contains_key("CB-SDK"));
    let expected: Vec<(String, String)> = [
        ("login", "Dacia"),
        ("id[in][]", "1"),
        ("id[in][]", "2"),
        ("user_tags[nin][]", "banned"),
        ("user_tags[nin][]", "a&b"),
        ("last_request_at[gt]", "1767225600"),
        ("created_at[lte]", "1700000000"),
        ("sort_asc", "full_name"),
        ("offset", "20"),
        ("limit", "10"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(sorted_pairs(req.uri().query().unwrap()), expected_sorted);
    assert_eq!(
        req.uri().query().unwrap(),
        "login=Dacia&id[in][]=1&id[in][]=2&user_tags[nin][]=banned&user_tags[nin][]=a%26b\
         &last_request_at[gt]=1767225600&created_at[lte]=1700000000&sort_asc=full_name\
         &offset=20&limit=10"
    );
}

#[test]
fn sort_descending_and_every_compare_operator_on_dates() {
    let op = UserSearch::new()
        .eq(Field::Email, "a@b.c")
        .gt(Field::CreatedAt, D)
        .lt(Field::CreatedAt, D)
        .gte(Field::UpdatedAt, D)
        .lte(Field::UpdatedAt, D)
        .sort_desc(Field::Id)
        .build()
        .unwrap();
    assert_eq!(
        op.query(),
        "email=a%40b.c&created_at[gt]=1767225600&created_at[lt]=1767225600\
         &updated_at[gte]=1767225600&updated_at[lte]=1767225600&sort_desc=id"
    );
}

#[test]
fn a_date_matched_exactly_beside_a_stand_alone_primary() {
    // `phone=…&last_request_at=…`, the service's own example of a valid search.
    let op = UserSearch::new()
        .eq(Field::Phone, "+6110797757")
        .eq(Field::LastRequestAt, datetime!(2020-11-09 8:21:41 UTC))
        .build()
        .unwrap();
    assert_eq!(op.query(), "phone=%2B6110797757&last_request_at=1604910101");
    // Every date, beside any primary, with a compare on the same date too.
    for date in [Field::LastRequestAt, Field::CreatedAt, Field::UpdatedAt] {
        let op = UserSearch::new()
            .any_of(Field::UserTags, ["vip"])
            .eq(date, D)
            .gt(date, D)
            .build()
            .unwrap();
        assert_eq!(
            op.query(),
            format!("user_tags[in][]=vip&{date}=1767225600&{date}[gt]=1767225600")
        );
    }
}

#[test]
fn start_with_forces_pages_of_five() {
    for asked in [None, Some(1), Some(50), Some(100)] {
        let mut s = UserSearch::new().start_with(Field::FullName, "Daci");
        if let Some(limit) = asked {
            s = s.limit(limit);
        }
        assert_eq!(
            s.build().unwrap().query(),
            "full_name[start_with]=Daci&limit=5"
        );
    }
    // Four characters, not four bytes.
    UserSearch::new()
        .start_with(Field::Login, "🐱🐱🐱🐱")
        .build()
        .unwrap();
}

#[test]
fn every_rule_is_named() {
    let cases = [
        (UserSearch::new(), Rule::StandAlonePrimaryRequired),
        (
            UserSearch::new().none_of(Field::Login, ["x"]),
            Rule::StandAlonePrimaryRequired,
        ),
        (
            UserSearch::new().gt(Field::CreatedAt, D),
            Rule::StandAlonePrimaryRequired,
        ),
        (
            UserSearch::new().eq(Field::Login, "a").gt(Field::Id, 5u64),
            Rule::NoCompareOnStandAlone,
        ),
        (
            UserSearch::new()
                .eq(Field::Login, "a")
                .lte(Field::UserTags, "x"),
            Rule::NoCompareOnStandAlone,
        ),
        // A date's `eq` is never the stand-alone primary.
        (
            UserSearch::new().eq(Field::CreatedAt, D),
            Rule::StandAlonePrimaryRequired,
        ),
        (
            UserSearch::new()
                .eq(Field::LastRequestAt, D)
                .none_of(Field::Login, ["x"]),
            Rule::StandAlonePrimaryRequired,
        ),
        (
            UserSearch::new()
                .eq(Field::Login, "a")
                .any_of(Field::CreatedAt, [D]),
            Rule::DatesOnlyCompareOrEq,
        ),
        (
            UserSearch::new()
                .eq(Field::Login, "a")
                .none_of(Field::UpdatedAt, [D]),
            Rule::DatesOnlyCompareOrEq,
        ),
        (
            UserSearch::new().eq(Field::Login, "a").filter(Filter::new(
                Field::UpdatedAt,
                Operator::StartWith,
                [Value::Date(1)],
            )),
            Rule::DatesOnlyCompareOrEq,
        ),
        (
            UserSearch::new().start_with(Field::Login, "abc"),
            Rule::StartWithTooShort,
        ),
        (
            UserSearch::new().start_with(Field::Login, "é🐱x"),
            Rule::StartWithTooShort,
        ),
        (UserSearch::new().eq(Field::Id, "5"), Rule::BadValue),
        (UserSearch::new().eq(Field::Login, 5u64), Rule::BadValue),
        (
            UserSearch::new()
                .eq(Field::Login, "a")
                .gt(Field::CreatedAt, "yesterday"),
            Rule::BadValue,
        ),
        (UserSearch::new().eq(Field::Login, ""), Rule::BadValue),
        (
            UserSearch::new().any_of(Field::Id, Vec::<u64>::new()),
            Rule::BadValue,
        ),
        (
            UserSearch::new().filter(Filter::new(Field::Login, Operator::Eq, ["a", "b"])),
            Rule::BadValue,
        ),
        (
            UserSearch::new().filter(Filter::new(Field::Id, Operator::StartWith, [1234u64])),
            Rule::BadValue,
        ),
        (
            UserSearch::new()
                .eq(Field::Login, "a")
                .eq(Field::Login, "b"),
            Rule::DuplicateCondition,
        ),
        (
            UserSearch::new().eq(Field::Login, "a").limit(0),
            Rule::LimitOutOfRange,
        ),
        (
            UserSearch::new().eq(Field::Login, "a").limit(101),
            Rule::LimitOutOfRange,
        ),
    ];
    for (search, rule) in cases {
        let shown = format!("{search:?}");
        assert_eq!(rule_of(search.clone()), rule, "{shown}");
        // The refusal becomes the crate's InvalidInput, naming the rule.
        let err: Error = search.build().unwrap_err().into();
        match err {
            Error::InvalidInput(e) => {
                assert_eq!(e.field, rule.code());
                assert!(e.to_string().starts_with("v2 rule: "), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The boundaries that pass.
    UserSearch::new()
        .eq(Field::Login, "a")
        .limit(100)
        .offset(u64::MAX)
        .build()
        .unwrap();
    UserSearch::new()
        .eq(Field::Login, "a")
        .none_of(Field::Login, ["b"])
        .any_of(Field::Login, ["c"])
        .build()
        .unwrap();
    UserSearch::new()
        .any_of(Field::UserTags, ["vip"])
        .build()
        .unwrap();
}

fn page(skip: u64, total: u64, ids: std::ops::Range<u64>) -> PageV2 {
    let items: Vec<String> = ids.map(|id| format!(r#"{{"id": {id}}}"#)).collect();
    serde_json::from_str(&format!(
        r#"{{"skip": {skip}, "limit": 100, "total_entries": {total}, "items": [{}]}}"#,
        items.join(",")
    ))
    .unwrap()
}

#[test]
fn the_paginator_walks_until_total_entries() {
    let first = UserSearch::new()
        .any_of(Field::UserTags, ["vip"])
        .limit(3)
        .build()
        .unwrap();
    let mut pages = first.pages();
    let mut offsets = Vec::new();
    let mut seen = Vec::new();
    while let Some(op) = pages.next_request() {
        let offset = op.current_offset();
        offsets.push(offset);
        let end = (offset + 3).min(8);
        let p = page(offset, 8, offset..end);
        seen.extend(p.items.iter().map(|u| u.id));
        pages.handle_page(&op, &p);
        assert!(offsets.len() < 10, "the paginator must end");
    }
    assert_eq!(offsets, [0, 3, 6]);
    assert_eq!(seen, (0..8).collect::<Vec<_>>());
    assert_eq!(pages.users_seen(), 8);
}

#[test]
fn the_paginator_stops_on_an_empty_page_and_keeps_the_filters() {
    let op = SearchUsers::by_ids([1, 2]).unwrap();
    assert_eq!(op.next_page(&page(0, 50, 0..0)), None);
    let next = op.next_page(&page(0, 50, 0..2)).unwrap();
    assert_eq!(next.query(), "id[in][]=1&id[in][]=2&offset=2");
    let next = next.next_page(&page(2, 50, 2..4)).unwrap();
    assert_eq!(next.query(), "id[in][]=1&id[in][]=2&offset=4");
    // total_entries reached exactly: done.
    assert_eq!(next.next_page(&page(4, 6, 4..6)), None);
    // start_with keeps its limit of 5 on every page.
    let s = UserSearch::new()
        .start_with(Field::Login, "dacia")
        .build()
        .unwrap();
    let next = s.next_page(&page(0, 12, 0..5)).unwrap();
    assert_eq!(next.query(), "login[start_with]=dacia&offset=5&limit=5");
}
