//! Property tests of the v2 filter builder: what it accepts encodes to a
//! query that decodes (the way a server decodes it) back to the same
//! filters; what it refuses breaks a rule of `docs/PROTOCOL.md` ("Search"), checked
//! by a predicate written here from the spec, independent of the builder.

use cube_proto::search::{Direction, Field, Filter, Operator, Rule, UserSearch, Value};
use proptest::prelude::*;
use std::collections::BTreeSet;

// ---- The spec, written out again (independent of the crate's tables) ----

const DATES: [&str; 3] = ["last_request_at", "created_at", "updated_at"];
const PRIMARY: [&str; 3] = ["eq", "in", "start_with"];
const COMPARE: [&str; 4] = ["gt", "lt", "gte", "lte"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Text,
    Date,
}

fn kind_of_field(name: &str) -> Kind {
    if name == "id" {
        Kind::Int
    } else if DATES.contains(&name) {
        Kind::Date
    } else {
        Kind::Text
    }
}

fn kind_of_value(v: &Value) -> Kind {
    match v {
        Value::Integer(_) => Kind::Int,
        Value::Text(_) => Kind::Text,
        Value::Date(_) => Kind::Date,
    }
}

/// Every rule the filters break, computed from the spec alone.
fn violations(filters: &[Filter], limit: Option<u32>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |r: Rule| {
        out.insert(format!("{r:?}"));
    };
    let mut seen = Vec::new();
    let mut has_primary = false;
    for f in filters {
        let field = f.field.name();
        let op = f.op.name();
        let is_date = DATES.contains(&field);
        if !is_date && PRIMARY.contains(&op) {
            has_primary = true;
        }
        if !is_date && COMPARE.contains(&op) {
            add(Rule::NoCompareOnStandAlone);
        }
        // A date takes a compare operator or `eq` (never the primary, above).
        if is_date && !COMPARE.contains(&op) && op != "eq" {
            add(Rule::DatesOnlyCompareOrEq);
        }
        let list = op == "in" || op == "nin";
        if (list && f.values.is_empty()) || (!list && f.values.len() != 1) {
            add(Rule::BadValue);
        }
        for v in &f.values {
            if kind_of_value(v) != kind_of_field(field) {
                add(Rule::BadValue);
            }
            if let Value::Text(t) = v {
                if t.is_empty() {
                    add(Rule::BadValue);
                }
                if op == "start_with" && t.chars().count() < 4 {
                    add(Rule::StartWithTooShort);
                }
            }
        }
        if op == "start_with" && kind_of_field(field) != Kind::Text {
            add(Rule::BadValue);
        }
        if seen.contains(&(field, op)) {
            add(Rule::DuplicateCondition);
        }
        seen.push((field, op));
    }
    if !has_primary {
        add(Rule::StandAlonePrimaryRequired);
    }
    if let Some(l) = limit
        && !(1..=100).contains(&l)
    {
        add(Rule::LimitOutOfRange);
    }
    out
}

// ---- A server-side decoder, also written here ----

/// `application/x-www-form-urlencoded`: `+` is a space, then `%XX`.
fn form_decode(s: &str) -> String {
    let bytes = s.replace('+', " ");
    let bytes = bytes.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("valid escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

#[derive(Debug, PartialEq)]
struct Decoded {
    filters: Vec<Filter>,
    sort: Option<(Direction, Field)>,
    offset: Option<u64>,
    limit: Option<u32>,
}

fn decode(query: &str) -> Decoded {
    let mut d = Decoded {
        filters: Vec::new(),
        sort: None,
        offset: None,
        limit: None,
    };
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').expect("key=value");
        let (k, v) = (form_decode(k), form_decode(v));
        match k.as_str() {
            "sort_asc" => d.sort = Some((Direction::Ascending, Field::from_name(&v).unwrap())),
            "sort_desc" => d.sort = Some((Direction::Descending, Field::from_name(&v).unwrap())),
            "offset" => d.offset = Some(v.parse().unwrap()),
            "limit" => d.limit = Some(v.parse().unwrap()),
            key => {
                let (name, rest) = key.split_once('[').unwrap_or((key, ""));
                let field = Field::from_name(name).unwrap_or_else(|| panic!("field {name}"));
                let op = match rest {
                    "" => Operator::Eq,
                    "in][]" => Operator::In,
                    "nin][]" => Operator::Nin,
                    other => Operator::from_name(other.strip_suffix(']').unwrap()).unwrap(),
                };
                let value = match kind_of_field(name) {
                    Kind::Int => Value::Integer(v.parse().unwrap()),
                    Kind::Date => Value::Date(v.parse().unwrap()),
                    Kind::Text => Value::Text(v),
                };
                match d
                    .filters
                    .iter_mut()
                    .find(|f| f.field == field && f.op == op && op.takes_list())
                {
                    Some(f) => f.values.push(value),
                    None => d.filters.push(Filter {
                        field,
                        op,
                        values: vec![value],
                    }),
                }
            }
        }
    }
    d
}

// ---- Generators ----

fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => prop::char::range('a', 'z'),
        1 => prop::sample::select(vec![' ', '+', '&', '=', '#', '%', '[', ']', '?', '/', 'é', '🐱', ',']),
        1 => any::<char>(),
    ];
    prop::collection::vec(ch, 0..8).prop_map(|cs| cs.into_iter().collect())
}

fn value_for(field: Field) -> BoxedStrategy<Value> {
    let int = any::<u64>().prop_map(Value::Integer).boxed();
    let date = (-1_000_000i64..4_000_000_000).prop_map(Value::Date).boxed();
    let txt = text().prop_map(Value::Text).boxed();
    let right = match kind_of_field(field.name()) {
        Kind::Int => int.clone(),
        Kind::Date => date.clone(),
        Kind::Text => txt.clone(),
    };
    // Mostly the right type, sometimes any type.
    prop_oneof![8 => right, 1 => int, 1 => date, 1 => txt].boxed()
}

/// Any field, any operator, any values: mostly refused.
fn any_filter() -> impl Strategy<Value = Filter> {
    (
        prop::sample::select(Field::ALL.to_vec()),
        prop::sample::select(Operator::ALL.to_vec()),
        0u8..10,
    )
        .prop_flat_map(|(field, op, n)| {
            let count = if op.takes_list() {
                (n % 4) as usize // 0..=3, zero now and then
            } else if n == 0 {
                2 // the wrong count, now and then
            } else {
                1
            };
            prop::collection::vec(value_for(field), count).prop_map(move |values| Filter {
                field,
                op,
                values,
            })
        })
}

/// An operator the field takes, values of its type: mostly accepted.
fn fitting_filter() -> impl Strategy<Value = Filter> {
    prop::sample::select(Field::ALL.to_vec()).prop_flat_map(|field| {
        let ops = if DATES.contains(&field.name()) {
            vec![
                Operator::Gt,
                Operator::Lt,
                Operator::Gte,
                Operator::Lte,
                Operator::Eq,
            ]
        } else if field == Field::Id {
            vec![Operator::Eq, Operator::In, Operator::Nin]
        } else {
            vec![
                Operator::Eq,
                Operator::In,
                Operator::StartWith,
                Operator::Nin,
            ]
        };
        (prop::sample::select(ops), 1usize..4).prop_flat_map(move |(op, n)| {
            let n = if op.takes_list() { n } else { 1 };
            let value = match kind_of_field(field.name()) {
                Kind::Int => any::<u64>().prop_map(Value::Integer).boxed(),
                Kind::Date => (-1_000_000i64..4_000_000_000).prop_map(Value::Date).boxed(),
                Kind::Text => text()
                    .prop_filter("non-empty", |t| t.chars().count() >= 3)
                    .prop_map(Value::Text)
                    .boxed(),
            };
            prop::collection::vec(value, n).prop_map(move |values| Filter { field, op, values })
        })
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![6 => fitting_filter(), 1 => any_filter()]
}

/// Filters, sort, offset and limit, as the builder is given them.
type Input = (
    Vec<Filter>,
    Option<(Direction, Field)>,
    Option<u64>,
    Option<u32>,
);

fn search() -> impl Strategy<Value = Input> {
    (
        prop::collection::vec(filter(), 0..5),
        prop::option::of((
            prop::sample::select(vec![Direction::Ascending, Direction::Descending]),
            prop::sample::select(Field::ALL.to_vec()),
        )),
        prop::option::of(any::<u64>()),
        prop::option::of(
            prop_oneof![8 => 1u32..=100, 1 => Just(100), 1 => Just(101), 1 => Just(0), 1 => 0u32..=1000],
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn accepted_round_trips_and_refused_breaks_a_rule((filters, sort, offset, limit) in search()) {
        let mut s = UserSearch::new();
        for f in &filters {
            s = s.filter(f.clone());
        }
        if let Some((d, f)) = sort {
            s = s.sort(d, f);
        }
        if let Some(o) = offset {
            s = s.offset(o);
        }
        if let Some(l) = limit {
            s = s.limit(l);
        }
        let broken = violations(&filters, limit);
        match s.build() {
            Ok(op) => {
                prop_assert!(broken.is_empty(), "accepted, yet breaks {broken:?}");
                let query = op.query();
                // A valid URI, whatever the text.
                let uri: http::Uri = format!("http://h/users/v2?{query}").parse().unwrap();
                prop_assert_eq!(uri.query(), Some(query.as_str()));
                prop_assert!(!query.contains('+') && !query.contains(' ') && !query.contains('#'));
                let decoded = decode(&query);
                let start_with = filters.iter().any(|f| f.op == Operator::StartWith);
                prop_assert_eq!(decoded, Decoded {
                    filters: filters.clone(),
                    sort,
                    offset,
                    limit: if start_with { Some(5) } else { limit },
                });
            }
            Err(e) => {
                prop_assert!(!broken.is_empty(), "refused ({e}) but breaks no rule");
                prop_assert!(
                    broken.contains(&format!("{:?}", e.rule)),
                    "refused for {:?}, but the spec says {:?}", e.rule, broken
                );
            }
        }
    }
}

/// The generator is worth something only if it reaches both sides often.
#[test]
fn the_generator_reaches_both_accepted_and_refused_sets() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = search();
    let (mut accepted, mut refused) = (0, 0);
    // A date's `eq`, beside a primary (valid) and as the only candidate for
    // one (refused): the rule of the service's own example.
    let (mut date_eq_accepted, mut date_eq_alone) = (0, 0);
    let mut rules = BTreeSet::new();
    for _ in 0..3000 {
        let (filters, _, _, limit) = strategy.new_tree(&mut runner).unwrap().current();
        let broken = violations(&filters, limit);
        let date_eq = filters
            .iter()
            .any(|f| f.op == Operator::Eq && DATES.contains(&f.field.name()));
        let other_primary = filters
            .iter()
            .any(|f| !DATES.contains(&f.field.name()) && PRIMARY.contains(&f.op.name()));
        if broken.is_empty() {
            accepted += 1;
            date_eq_accepted += usize::from(date_eq);
        } else {
            refused += 1;
            date_eq_alone += usize::from(date_eq && !other_primary);
            rules.extend(broken);
        }
    }
    assert!(
        accepted > 300 && refused > 300,
        "{accepted} accepted, {refused} refused"
    );
    assert!(
        date_eq_accepted > 50 && date_eq_alone > 20,
        "a date's eq: {date_eq_accepted} accepted beside a primary, {date_eq_alone} refused alone"
    );
    assert_eq!(
        rules.len(),
        7,
        "every rule is broken now and then: {rules:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Any text, as a value or as a bracketed key part, survives the server's
    /// form decoding; the brackets of the structure stay literal.
    #[test]
    fn any_text_survives_query_encoding(
        name in text().prop_filter("a name", |n| !n.is_empty()),
        part in text(),
        values in prop::collection::vec(text(), 1..4),
    ) {
        let mut q = cube_proto::query::Query::new();
        q.push(&name, &values[0]);
        q.push_nested(&name, &[&part], &values[0]);
        q.push_list(&name, &[&part], &values);
        let encoded = q.as_str().to_owned();
        prop_assert!(!encoded.contains(' ') && !encoded.contains('+') && !encoded.contains('#'));
        let uri: http::Uri = format!("http://h/p?{encoded}").parse().unwrap();
        prop_assert_eq!(uri.query(), Some(encoded.as_str()));
        let decoded: Vec<(String, String)> = encoded
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (form_decode(k), form_decode(v))
            })
            .collect();
        let mut expected = vec![
            (name.clone(), values[0].clone()),
            (format!("{name}[{part}]"), values[0].clone()),
        ];
        expected.extend(values.iter().map(|v| (format!("{name}[{part}][]"), v.clone())));
        prop_assert_eq!(decoded, expected);
    }
}

// ---- A look-up is the search it stands for ----

/// A request as text: method, URL, headers in order, body.
type Built = (String, String, Vec<(String, Vec<u8>)>, Vec<u8>);

/// The request a look-up builds, or its error's words.
fn built(
    op: &impl cube_proto::ops::Operation,
    ctx: &cube_proto::wire::RequestContext<'_>,
) -> Result<Built, String> {
    let request = op.build(ctx).map_err(|e| e.to_string())?;
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    Ok((
        request.method().to_string(),
        request.uri().to_string(),
        headers,
        request.body().clone(),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// `GetUser` writes its request out itself (the most frequent call);
    /// whatever the field and the value, with a token or without, it is
    /// byte for byte the request of the search it stands for, or fails
    /// with that search's error.
    #[test]
    fn a_look_up_builds_the_request_of_its_search(
        which in 0usize..6,
        value in prop_oneof![Just(String::new()), text()],
        id in any::<u64>(),
        with_token in any::<bool>(),
    ) {
        use cube_proto::search::GetUser;
        let op = match which {
            0 => GetUser::by_id(id),
            1 => GetUser::by_login(value),
            2 => GetUser::by_email(value),
            3 => GetUser::by_external_id(value),
            4 => GetUser::by_facebook_id(value),
            _ => GetUser::by_twitter_id(value),
        };
        let config = cube_proto::Config::builder(7, "key")
            .base_url("http://127.0.0.1:8080/api")
            .build()
            .unwrap();
        let token = cube_proto::Secret::new("0123456789abcdef0123456789abcdef01234567");
        let ctx = cube_proto::wire::RequestContext {
            config: &config,
            token: with_token.then_some(&token),
            now: time::OffsetDateTime::UNIX_EPOCH,
            nonce: 1,
        };
        let expected = match op.as_search() {
            Ok(search) => built(&search, &ctx),
            Err(e) => Err(cube_proto::Error::from(e).to_string()),
        };
        prop_assert_eq!(built(&op, &ctx), expected);
    }
}
