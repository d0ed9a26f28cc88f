//! Remembered search totals agree with a fresh count after every kind of
//! write and every move of the clock.

use proptest::prelude::*;

use super::Store;
use super::apps::{self, App};
use super::search::{self, Column, Condition, Filter, UserQuery, Value};
use super::users::{self, NewUser, UserPatch};
use crate::crypto::Secret;
use crate::settings::AppSettings;

const APPS: [i64; 2] = [1, 2];

struct Fixture {
    store: Store,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Self {
            store: Store::open(None).unwrap(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        };
        fixture.write(|db| {
            for id in APPS {
                apps::ensure_exists(
                    db,
                    &App {
                        id,
                        auth_key: format!("k{id}"),
                        auth_secret: Secret::new("s"),
                        settings: AppSettings::default(),
                    },
                )?;
            }
            Ok(())
        });
        fixture
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&super::Db) -> super::Result<T> + Send + 'static,
    ) -> T {
        self.runtime
            .block_on(self.store.write(f))
            .unwrap_or_else(|e| panic!("write failed: {e}"))
    }

    /// The total a search answers with, and a fresh count.
    fn totals(&self, app_id: i64, now: i64, query: &UserQuery) -> (i64, i64) {
        self.store
            .read(|db| {
                let answered = search::run(db, app_id, now, query)?.total;
                Ok((answered, search::count_now(db, app_id, now, query)?))
            })
            .unwrap()
    }

    /// The total a search answers with.
    fn answer(&self, app_id: i64, now: i64, query: &UserQuery) -> i64 {
        self.store
            .read(|db| Ok(search::run(db, app_id, now, query)?.total))
            .unwrap()
    }

    fn count_runs(&self, app_id: i64, now: i64, query: &UserQuery) -> i32 {
        self.store
            .read(|db| search::count_runs(db, app_id, now, query))
            .unwrap()
    }
}

fn query(filters: Vec<Filter>) -> UserQuery {
    UserQuery {
        filters,
        order: Column::Id,
        descending: false,
        limit: 1,
        offset: 0,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// A search on every field a write can change, in each way a total is
/// found (walked, driven, a sole tag list, a unique field's page first).
fn queries() -> Vec<UserQuery> {
    use Condition as C;
    let col = |c, cond| vec![Filter::Column(c, cond)];
    let mut queries: Vec<UserQuery> = [
        vec![],
        col(Column::Login, C::StartsWith("user".into())),
        col(Column::Login, C::Eq(text("user1"))),
        col(Column::Email, C::StartsWith("mail".into())),
        col(Column::FullName, C::Ne(text("name 1"))),
        col(Column::Phone, C::In(vec![text("p1"), text("p2")])),
        col(Column::Website, C::Eq(text("w1"))),
        col(Column::ExternalUserId, C::Eq(Value::Int(1))),
        col(Column::ExternalId, C::Eq(text("x2"))),
        col(Column::FacebookId, C::In(vec![text("x1"), text("x3")])),
        col(Column::TwitterId, C::Ne(text("x1"))),
        col(Column::BlobId, C::Gte(Value::Int(2))),
        col(Column::Timezone, C::Gt(Value::Int(0))),
        col(Column::CreatedAt, C::Lt(Value::Int(1010))),
        col(Column::UpdatedAt, C::Gte(Value::Int(1005))),
        col(Column::Id, C::Gt(Value::Int(3))),
        col(Column::LastRequestAt, C::Gte(Value::Int(0))),
        vec![Filter::TagsAny(vec!["t0".into()])],
        vec![Filter::TagsAny(vec!["t0".into(), "t1".into()])],
        vec![Filter::TagsNone(vec!["t1".into()])],
        vec![Filter::TagStartsWith("t".into())],
        vec![Filter::NameContains("ame".into())],
        vec![Filter::NameContains("e".into())],
        vec![
            Filter::Column(Column::Login, C::StartsWith("user".into())),
            Filter::TagsAny(vec!["t2".into()]),
        ],
    ]
    .into_iter()
    .map(query)
    .collect();
    // The same filters in another order count the same.
    let mut by_login = query(vec![Filter::TagsAny(vec!["t0".into()])]);
    by_login.order = Column::Login;
    queries.push(by_login);
    queries
}

fn small(n: u8) -> Option<String> {
    (!n.is_multiple_of(4)).then(|| (n % 4).to_string())
}

#[derive(Debug, Clone)]
enum Op {
    /// A sign-up (a guest when `guest` says for how long).
    SignUp {
        app: usize,
        n: u8,
        tags: Vec<u8>,
        guest: Option<u8>,
    },
    /// An admin import: several users in one write.
    Import {
        app: usize,
        ns: Vec<u8>,
    },
    Update {
        who: u8,
        field: u8,
        n: u8,
    },
    Delete {
        who: u8,
    },
    Password {
        who: u8,
    },
    Sweep,
    Wipe,
    Clock {
        by: i16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, any::<u8>(), prop::collection::vec(0..4u8, 0..3), prop::option::of(1..30u8))
            .prop_map(|(app, n, tags, guest)| Op::SignUp { app, n, tags, guest }),
        1 => (0..2usize, prop::collection::vec(any::<u8>(), 1..5))
            .prop_map(|(app, ns)| Op::Import { app, ns }),
        4 => (any::<u8>(), 0..13u8, any::<u8>()).prop_map(|(who, field, n)| Op::Update { who, field, n }),
        1 => any::<u8>().prop_map(|who| Op::Delete { who }),
        1 => any::<u8>().prop_map(|who| Op::Password { who }),
        1 => Just(Op::Sweep),
        1 => Just(Op::Wipe),
        3 => (-20..40i16).prop_map(|by| Op::Clock { by }),
    ]
}

fn new_user(n: u8, tags: &[u8], guest_until: Option<i64>) -> NewUser {
    let mut tags: Vec<String> = tags.iter().map(|t| format!("t{t}")).collect();
    tags.dedup();
    NewUser {
        // Unique per call, so a sign-up never conflicts.
        login: None,
        email: Some(format!("mail{n}-{}@example.com", next_serial())),
        full_name: small(n).map(|s| format!("name {s}")),
        phone: small(n / 4).map(|s| format!("p{s}")),
        website: small(n / 16).map(|s| format!("w{s}")),
        timezone: Some(i64::from(n % 3) - 1),
        blob_id: Some(i64::from(n % 4)),
        tags,
        guest_until,
        ..NewUser::default()
    }
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// A patch of one field; unique fields get values no one else holds.
fn patch(field: u8, n: u8) -> UserPatch {
    let unique = || {
        Some(Some(format!(
            "x{}",
            next_serial() % 4 + u64::from(n % 2) * 100
        )))
    };
    let mut patch = UserPatch::default();
    match field {
        0 => patch.login = Some(format!("user{}", next_serial())),
        1 => patch.email = Some(small(n).map(|s| format!("mail{s}-{}@e.com", next_serial()))),
        2 => patch.full_name = Some(small(n).map(|s| format!("name {s}"))),
        3 => patch.phone = Some(small(n).map(|s| format!("p{s}"))),
        4 => patch.website = Some(small(n).map(|s| format!("w{s}"))),
        5 => patch.external_user_id = Some(small(n).map(|_| i64::from(n % 4))),
        6 => patch.external_id = unique(),
        7 => patch.facebook_id = unique(),
        8 => patch.twitter_id = unique(),
        9 => patch.blob_id = Some(Some(i64::from(n % 4))),
        10 => patch.timezone = Some(small(n).map(|_| i64::from(n % 3) - 1)),
        11 => patch.tags = Some((0..n % 3).map(|t| format!("t{}", (t + n) % 4)).collect()),
        _ => patch.custom_data = Some(Some(n.to_string())),
    }
    patch
}

fn live_ids(fixture: &Fixture) -> Vec<(i64, i64)> {
    fixture
        .store
        .read(|db| {
            db.conn()
                .prepare("SELECT id, app_id FROM users ORDER BY id")
                .map_err(super::Error::from)?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(super::Error::from)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(super::Error::from)
        })
        .unwrap()
}

fn apply(fixture: &Fixture, now: &mut i64, op: &Op) {
    let at = *now;
    let pick = |who: u8| {
        let ids = live_ids(fixture);
        (!ids.is_empty()).then(|| ids[usize::from(who) % ids.len()])
    };
    match op.clone() {
        Op::SignUp {
            app,
            n,
            tags,
            guest,
        } => {
            let user = new_user(n, &tags, guest.map(|g| at + i64::from(g)));
            fixture.write(move |db| users::insert(db, APPS[app], at, &user));
        }
        Op::Import { app, ns } => {
            let list: Vec<NewUser> = ns.iter().map(|n| new_user(*n, &[*n % 4], None)).collect();
            fixture.write(move |db| {
                for user in &list {
                    users::insert(db, APPS[app], at, user)?;
                }
                Ok(())
            });
        }
        Op::Update { who, field, n } => {
            if let Some((id, app_id)) = pick(who) {
                let patch = patch(field, n);
                // A conflict on a unique value changes nothing.
                let _ = fixture.runtime.block_on(
                    fixture
                        .store
                        .write(move |db| users::update(db, app_id, id, at, &patch)),
                );
            }
        }
        Op::Delete { who } => {
            if let Some((id, _)) = pick(who) {
                fixture.write(move |db| users::delete(db, id));
            }
        }
        Op::Password { who } => {
            if let Some((id, _)) = pick(who) {
                fixture.write(move |db| users::set_password(db, id, at, "h"));
            }
        }
        Op::Sweep => fixture.write(move |db| users::sweep_guests(db, at)),
        Op::Wipe => fixture.write(apps::reset_data),
        Op::Clock { by } => *now += i64::from(by),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// After any sequence of writes and clock moves, every search answers
    /// with the total a fresh count finds, asked once or twice.
    #[test]
    fn remembered_totals_equal_fresh_counts(ops in prop::collection::vec(op(), 1..25)) {
        let fixture = Fixture::new();
        let queries = queries();
        let mut now = 1000;
        for op in &ops {
            apply(&fixture, &mut now, op);
            for app_id in APPS {
                for query in &queries {
                    for _ in 0..2 {
                        let (answered, fresh) = fixture.totals(app_id, now, query);
                        prop_assert_eq!(answered, fresh, "{:?} at {} after {:?}", query, now, op);
                    }
                }
            }
        }
    }
}

/// A broad total is counted once, then remembered until a write of its
/// application or a guest's deadline; a write of another application
/// leaves it be.
#[test]
fn a_total_is_counted_again_only_when_it_may_have_changed() {
    let fixture = Fixture::new();
    let now = 1000;
    fixture.write(move |db| {
        for n in 0..20 {
            users::insert(db, 1, now, &new_user(n, &[0], None))?;
        }
        users::insert(db, 1, now, &new_user(99, &[0], Some(now + 10)))?;
        Ok(())
    });
    let broad = query(vec![Filter::TagsAny(vec!["t0".into()])]);
    let runs = |at| fixture.count_runs(1, at, &broad);
    assert_eq!(fixture.answer(1, now, &broad), 21);
    let counted = runs(now);
    assert_eq!(fixture.answer(1, now, &broad), 21);
    assert_eq!(fixture.answer(1, now + 9, &broad), 21);
    assert_eq!(runs(now), counted, "remembered");

    fixture.write(move |db| users::insert(db, 2, now, &new_user(1, &[0], None)));
    assert_eq!(fixture.answer(1, now, &broad), 21);
    assert_eq!(runs(now), counted, "another application's write");

    // The guest's day ends at now + 10 (the count then leaves it out).
    let before_deadline = runs(now + 10);
    assert_eq!(fixture.answer(1, now + 10, &broad), 20);
    let after_deadline = runs(now + 10);
    assert_eq!(after_deadline, before_deadline + 1);
    assert_eq!(fixture.answer(1, now + 50, &broad), 20);
    assert_eq!(runs(now + 10), after_deadline, "no later deadline");
    // The clock moved back: the guest is live again.
    assert_eq!(fixture.answer(1, now + 5, &broad), 21);

    fixture.write(move |db| users::insert(db, 1, now, &new_user(2, &[0], None)));
    let before = runs(now);
    assert_eq!(fixture.answer(1, now, &broad), 22);
    assert_eq!(runs(now), before + 1, "a write of the application");

    // Searches on `last_request_at` are counted every time.
    let moving = query(vec![Filter::Column(
        Column::LastRequestAt,
        Condition::Gte(Value::Int(0)),
    )]);
    fixture.answer(1, now, &moving);
    let first = fixture.count_runs(1, now, &moving);
    fixture.answer(1, now, &moving);
    assert_eq!(fixture.count_runs(1, now, &moving), first + 1);
}

/// Users listed by a search carry no password hash; a look-up of one
/// user (a sign-in) still reads it.
#[test]
fn listed_users_carry_no_password_hash() {
    let fixture = Fixture::new();
    let id = fixture.write(|db| {
        let user = NewUser {
            login: Some("hashed".into()),
            password_hash: Some("argon2id$stored".into()),
            tags: vec!["t0".into()],
            ..NewUser::default()
        };
        users::insert(db, 1, 1000, &user)
    });
    let shapes = [
        vec![Filter::TagsAny(vec!["t0".into()])],
        vec![Filter::Column(
            Column::Id,
            Condition::In(vec![Value::Int(id)]),
        )],
        vec![Filter::Column(
            Column::Login,
            Condition::StartsWith("hash".into()),
        )],
    ];
    for filters in shapes {
        let page = fixture
            .store
            .read(|db| search::run(db, 1, 1000, &query(filters.clone())))
            .unwrap();
        assert_eq!(page.users.len(), 1, "{filters:?}");
        assert!(page.users[0].password_hash.is_none(), "{filters:?}");
    }
    let found = fixture
        .store
        .read(|db| users::find_by_id(db, 1, 1000, id))
        .unwrap()
        .unwrap();
    assert_eq!(found.password_hash.as_deref(), Some("argon2id$stored"));
}
