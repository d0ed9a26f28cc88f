//! User lists: the v1 list (`filter[]`, `order`), by full name, by tags,
//! and the v2 search with its operator rules (`docs/PROTOCOL.md`, "Search"). Each
//! request becomes a typed [`UserQuery`]; the store runs it.

use super::{Ctx, Outcome, Reply, render};
use crate::clock::parse_date;
use crate::error::{ApiError, ensure};
use crate::limits::{
    CONDITIONS_MAX, LIST_VALUES_MAX, PAGE_MAX, START_WITH_MIN_CHARS, START_WITH_PAGE,
    V1_PER_PAGE_DEFAULT, V2_LIMIT_DEFAULT,
};
use crate::store::search::{Column, Condition, Filter, Page, UserQuery, Value};

/// The public service's answer when an application does not allow lists of
/// users through the API (`users.md`), naming the application's settings
/// page of ConnectyCube's dashboard.
fn list_disabled(app_id: i64) -> ApiError {
    ApiError::forbidden(format!(
        "Users retrieving forbidden in admin panel, application settings. \
         Setup it here https://admin.connectycube.com/apps/{app_id}/service/users/settings"
    ))
}

fn too_many_values(field: &str) -> ApiError {
    ApiError::invalid_field(
        field,
        format!("has too many values (maximum is {LIST_VALUES_MAX})"),
    )
}

fn too_many_conditions(field: &str) -> ApiError {
    ApiError::invalid_field(
        field,
        format!("is one condition too many (a search combines at most {CONDITIONS_MAX})"),
    )
}

/// The application of the caller's session, if it allows listing.
fn listing_app(ctx: &Ctx, v1: bool) -> Result<i64, ApiError> {
    let app_id = ctx.session()?.app_id;
    let app = ctx
        .state
        .apps
        .get(app_id)
        .ok_or_else(ApiError::no_session)?;
    ensure(app.settings.list_users, || list_disabled(app_id))?;
    ensure(
        !v1 || app.settings.list_users_v1,
        ApiError::list_v1_disabled,
    )?;
    Ok(app_id)
}

fn positive(ctx: &Ctx, key: &str, default: i64) -> Result<i64, ApiError> {
    match ctx.query(key) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ApiError::invalid_field(key, "must be a positive integer")),
    }
}

fn run(ctx: &Ctx, app_id: i64, query: &UserQuery) -> Result<Page, ApiError> {
    Ok(ctx.state.users.search(app_id, ctx.now, query)?)
}

/// Runs a v1-paged query: `{"current_page", "per_page", "total_entries", "items"}`.
fn v1_page(ctx: &Ctx, app_id: i64, filters: Vec<Filter>, order: (Column, bool)) -> Outcome {
    let page = positive(ctx, "page", 1)?;
    let per_page = positive(ctx, "per_page", V1_PER_PAGE_DEFAULT)?.min(PAGE_MAX);
    let query = UserQuery {
        filters,
        order: order.0,
        descending: order.1,
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    let found = run(ctx, app_id, &query)?;
    Ok(Reply::ok_text(render::page(
        &[
            ("current_page", page),
            ("per_page", per_page),
            ("total_entries", found.total),
        ],
        &found.users,
        true,
    )))
}

/// A user field of the v1 list, for filters and ordering.
fn v1_column(field: &str) -> Option<Column> {
    Some(match field {
        "id" => Column::Id,
        "login" => Column::Login,
        "email" => Column::Email,
        "full_name" => Column::FullName,
        "phone" => Column::Phone,
        "website" => Column::Website,
        "external_user_id" => Column::ExternalUserId,
        "external_id" => Column::ExternalId,
        "facebook_id" => Column::FacebookId,
        "twitter_id" => Column::TwitterId,
        "blob_id" => Column::BlobId,
        "timezone" => Column::Timezone,
        "user_tags" => Column::Tags,
        "created_at" => Column::CreatedAt,
        "updated_at" => Column::UpdatedAt,
        "last_request_at" => Column::LastRequestAt,
        _ => return None,
    })
}

fn v1_value(kind: &str, raw: &str) -> Option<Value> {
    match kind {
        "number" => raw.parse::<i64>().map(Value::Int).ok().or_else(|| {
            raw.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::Real)
        }),
        "string" => Some(Value::Text(raw.to_owned())),
        "date" => parse_date(raw).map(Value::Int),
        _ => None,
    }
}

/// `TYPE FIELD OP VALUE` → a filter. The operators are exactly the
/// public service's for v1: `gt lt ge le eq ne between in` (`gte`, `lte`
/// and `nin` are v2's, unknown here). On `user_tags`, `eq`/`in` match
/// users holding the tag(s) and `ne` users not holding it.
fn v1_filter(filter: &str) -> Result<Filter, ApiError> {
    let bad = || ApiError::invalid_field("filter", format!("is invalid: {filter}"));
    let mut parts = filter.splitn(4, ' ');
    let (Some(kind), Some(field), Some(op), Some(raw)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let column = v1_column(field).ok_or_else(bad)?;
    let value = |raw: &str| v1_value(kind, raw).ok_or_else(bad);
    let many = |raw: &str| {
        let raws: Vec<&str> = raw.split(',').collect();
        ensure(raws.len() <= LIST_VALUES_MAX, || too_many_values("filter"))?;
        raws.into_iter().map(value).collect::<Result<Vec<_>, _>>()
    };
    if column == Column::Tags {
        ensure(kind == "string", bad)?;
        let tags = match op {
            "eq" | "ne" => vec![raw.to_owned()],
            "in" => {
                ensure(raw.split(',').count() <= LIST_VALUES_MAX, || {
                    too_many_values("filter")
                })?;
                raw.split(',').map(str::to_owned).collect()
            }
            _ => return Err(bad()),
        };
        return Ok(match op {
            "eq" | "in" => Filter::TagsAny(tags),
            _ => Filter::TagsNone(tags),
        });
    }
    let condition = match op {
        "lt" => Condition::Lt(value(raw)?),
        "le" => Condition::Lte(value(raw)?),
        "gt" => Condition::Gt(value(raw)?),
        "ge" => Condition::Gte(value(raw)?),
        "eq" => Condition::Eq(value(raw)?),
        "ne" => Condition::Ne(value(raw)?),
        "in" => Condition::In(many(raw)?),
        "between" => {
            let mut values = many(raw)?;
            ensure(values.len() == 2, bad)?;
            let high = values.pop().ok_or_else(bad)?;
            let low = values.pop().ok_or_else(bad)?;
            Condition::Between(low, high)
        }
        _ => return Err(bad()),
    };
    Ok(Filter::Column(column, condition))
}

/// `order=DIR TYPE FIELD`.
fn v1_order(ctx: &Ctx) -> Result<(Column, bool), ApiError> {
    let Some(order) = ctx.query("order").filter(|o| !o.is_empty()) else {
        return Ok((Column::Id, false));
    };
    let bad = || ApiError::invalid_field("order", format!("is invalid: {order}"));
    let parts: Vec<&str> = order.split(' ').collect();
    let [dir, kind, field] = parts.as_slice() else {
        return Err(bad());
    };
    ensure(matches!(*kind, "number" | "string" | "date"), bad)?;
    let column = v1_column(field).ok_or_else(bad)?;
    match *dir {
        "asc" => Ok((column, false)),
        "desc" => Ok((column, true)),
        _ => Err(bad()),
    }
}

/// The filters of a v1 list request.
fn v1_filters(pairs: &[(String, String)]) -> Result<Vec<Filter>, ApiError> {
    let mut filters = Vec::new();
    for (key, value) in pairs {
        if key == "filter[]" || key == "filter" {
            ensure(filters.len() < CONDITIONS_MAX, || {
                too_many_conditions("filter")
            })?;
            filters.push(v1_filter(value)?);
        }
    }
    Ok(filters)
}

/// `GET /users` (deprecated v1 list).
pub(crate) async fn list_v1(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, true)?;
    let filters = v1_filters(&ctx.query)?;
    let order = v1_order(ctx)?;
    v1_page(ctx, app_id, filters, order)
}

/// `GET /users/by_full_name?full_name=`: case-insensitive substring.
pub(crate) async fn by_full_name(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, false)?;
    let name = ctx.required_query("full_name")?.to_owned();
    v1_page(
        ctx,
        app_id,
        vec![Filter::NameContains(name)],
        (Column::Id, false),
    )
}

/// The tags of a `by_tags` request (`tags=a,b` or `tags[]=a&tags[]=b`).
fn tags_param(pairs: &[(String, String)]) -> Result<Vec<String>, ApiError> {
    let mut tags: Vec<String> = Vec::new();
    for tag in pairs
        .iter()
        .filter(|(k, _)| k == "tags" || k == "tags[]")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        ensure(tags.len() < LIST_VALUES_MAX, || too_many_values("tags"))?;
        tags.push(tag.to_owned());
    }
    ensure(!tags.is_empty(), || {
        ApiError::invalid_field("tags", "can't be blank")
    })?;
    Ok(tags)
}

/// `GET /users/by_tags?tags=a,b` (or `tags[]=a&tags[]=b`): any tag matches.
pub(crate) async fn by_tags(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, false)?;
    let tags = tags_param(&ctx.query)?;
    v1_page(
        ctx,
        app_id,
        vec![Filter::TagsAny(tags)],
        (Column::Id, false),
    )
}

/// How a v2 field is stored and which operators it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Text(Column),
    Tags,
    Date(Column),
}

fn v2_field(name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::Id,
        "login" => Field::Text(Column::Login),
        "email" => Field::Text(Column::Email),
        "full_name" => Field::Text(Column::FullName),
        "phone" => Field::Text(Column::Phone),
        "external_id" => Field::Text(Column::ExternalId),
        "facebook_id" => Field::Text(Column::FacebookId),
        "twitter_id" => Field::Text(Column::TwitterId),
        "user_tags" => Field::Tags,
        "last_request_at" => Field::Date(Column::LastRequestAt),
        "created_at" => Field::Date(Column::CreatedAt),
        "updated_at" => Field::Date(Column::UpdatedAt),
        _ => return None,
    })
}

impl Field {
    fn column(self) -> Column {
        match self {
            Field::Id => Column::Id,
            Field::Text(c) | Field::Date(c) => c,
            Field::Tags => Column::Tags,
        }
    }
}

/// One `FIELD[op]=VALUE` group (`in`/`nin` values of a field are merged).
struct Clause {
    name: String,
    field: Field,
    op: String,
    values: Vec<String>,
}

/// Splits `field`, `field[op]` or `field[op][]`.
fn split_param(key: &str) -> Option<(&str, &str)> {
    let Some((name, rest)) = key.split_once('[') else {
        return Some((key, "eq"));
    };
    let rest = rest.strip_suffix("[]").unwrap_or(rest);
    let op = rest.strip_suffix(']')?;
    (!op.contains('[') && !op.contains(']')).then_some((name, op))
}

fn v2_value(clause: &Clause, raw: &str) -> Result<Value, ApiError> {
    match clause.field {
        Field::Id => raw
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| ApiError::invalid_field(&clause.name, "must be an integer")),
        Field::Date(_) => parse_date(raw)
            .map(Value::Int)
            .ok_or_else(|| ApiError::invalid_field(&clause.name, "is not a valid date")),
        Field::Text(_) | Field::Tags => Ok(Value::Text(raw.to_owned())),
    }
}

fn v2_filter(clause: Clause) -> Result<Filter, ApiError> {
    let mut values = clause
        .values
        .iter()
        .map(|v| v2_value(&clause, v))
        .collect::<Result<Vec<_>, _>>()?;
    if clause.field == Field::Tags {
        let mut tags: Vec<String> = clause.values;
        return Ok(match clause.op.as_str() {
            "eq" | "in" => Filter::TagsAny(tags),
            "nin" => Filter::TagsNone(tags),
            _ => Filter::TagStartsWith(tags.pop().unwrap_or_default()),
        });
    }
    let column = clause.field.column();
    let one = values.pop().unwrap_or(Value::Int(0));
    Ok(Filter::Column(
        column,
        match clause.op.as_str() {
            "eq" => Condition::Eq(one),
            "in" => Condition::In({
                values.push(one);
                values
            }),
            "nin" => Condition::NotIn({
                values.push(one);
                values
            }),
            "start_with" => {
                Condition::StartsWith(clause.values.last().cloned().unwrap_or_default())
            }
            "gt" => Condition::Gt(one),
            "lt" => Condition::Lt(one),
            "gte" => Condition::Gte(one),
            _ => Condition::Lte(one),
        },
    ))
}

/// A `GET /users/v2` query string as a query.
fn v2_query(pairs: &[(String, String)]) -> Result<UserQuery, ApiError> {
    let mut clauses: Vec<Clause> = Vec::new();
    let mut order = (Column::Id, false);
    let mut offset = 0;
    let mut limit = V2_LIMIT_DEFAULT;
    for (key, value) in pairs {
        match key.as_str() {
            "offset" => {
                offset = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        ApiError::invalid_field("offset", "must be a non-negative integer")
                    })?;
            }
            "limit" => {
                limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| ApiError::invalid_field("limit", "must be a positive integer"))?
                    .min(PAGE_MAX);
            }
            "sort_asc" | "sort_desc" => {
                let field = v2_field(value).ok_or_else(|| {
                    ApiError::invalid_field(key, format!("cannot sort by {value}"))
                })?;
                order = (field.column(), key == "sort_desc");
            }
            _ => {
                let (name, op) = split_param(key)
                    .ok_or_else(|| ApiError::invalid(format!("Malformed parameter {key}")))?;
                let field = v2_field(name)
                    .ok_or_else(|| ApiError::invalid_field(name, "is not a searchable field"))?;
                // A date takes `eq` too (beside a stand-alone primary:
                // it never counts as one, below).
                let allowed = match (field, op) {
                    (Field::Date(_), "eq" | "gt" | "lt" | "gte" | "lte") => true,
                    (Field::Date(_), _) => false,
                    // Ids are numbers: no prefix of them.
                    (Field::Id, "start_with") => false,
                    (_, "eq" | "in" | "nin" | "start_with") => true,
                    _ => false,
                };
                ensure(allowed, || {
                    ApiError::invalid_field(name, format!("does not take the operator {op}"))
                })?;
                if op == "start_with" {
                    ensure(value.chars().count() >= START_WITH_MIN_CHARS, || {
                        ApiError::invalid_field(
                            name,
                            format!("start_with needs at least {START_WITH_MIN_CHARS} characters"),
                        )
                    })?;
                }
                let merge = matches!(op, "in" | "nin");
                match clauses
                    .iter_mut()
                    .find(|c| merge && c.name == name && c.op == op)
                {
                    Some(clause) => {
                        ensure(clause.values.len() < LIST_VALUES_MAX, || {
                            too_many_values(name)
                        })?;
                        clause.values.push(value.clone());
                    }
                    None => {
                        ensure(clauses.len() < CONDITIONS_MAX, || too_many_conditions(name))?;
                        clauses.push(Clause {
                            name: name.to_owned(),
                            field,
                            op: op.to_owned(),
                            values: vec![value.clone()],
                        });
                    }
                }
            }
        }
    }
    let has_primary = clauses.iter().any(|c| {
        !matches!(c.field, Field::Date(_)) && matches!(c.op.as_str(), "eq" | "in" | "start_with")
    });
    ensure(has_primary, || {
        ApiError::invalid(
            "At least one of id, login, email, full_name, phone, external_id, facebook_id, twitter_id or user_tags must be given with eq, in or start_with",
        )
    })?;
    if clauses.iter().any(|c| c.op == "start_with") {
        limit = START_WITH_PAGE;
    }
    Ok(UserQuery {
        filters: clauses
            .into_iter()
            .map(v2_filter)
            .collect::<Result<Vec<_>, _>>()?,
        order: order.0,
        descending: order.1,
        limit,
        offset,
    })
}

/// `GET /users/v2`.
pub(crate) async fn search_v2(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, false)?;
    let query = v2_query(&ctx.query)?;
    let found = run(ctx, app_id, &query)?;
    Ok(Reply::ok_text(render::page(
        &[
            ("skip", query.offset),
            ("limit", query.limit),
            ("total_entries", found.total),
        ],
        &found.users,
        false,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        crate::wire::parse_pairs(query).unwrap()
    }

    #[test]
    fn params_split() {
        assert_eq!(split_param("login"), Some(("login", "eq")));
        assert_eq!(split_param("id[in][]"), Some(("id", "in")));
        assert_eq!(
            split_param("login[start_with]"),
            Some(("login", "start_with"))
        );
        assert_eq!(split_param("id[in"), None);
    }

    #[test]
    fn v1_filters_parse() {
        assert_eq!(
            v1_filter("number id in 1,2,3").unwrap(),
            Filter::Column(
                Column::Id,
                Condition::In(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
            )
        );
        assert_eq!(
            v1_filter("date created_at between 2020-01-01,2030-01-01").unwrap(),
            Filter::Column(
                Column::CreatedAt,
                Condition::Between(Value::Int(1_577_836_800), Value::Int(1_893_456_000))
            )
        );
        assert_eq!(
            v1_filter("string user_tags ne vip").unwrap(),
            Filter::TagsNone(vec!["vip".into()])
        );
        assert_eq!(
            v1_filter("number id ge 3").unwrap(),
            Filter::Column(Column::Id, Condition::Gte(Value::Int(3)))
        );
        assert_eq!(
            v1_filter("number id le 3").unwrap(),
            Filter::Column(Column::Id, Condition::Lte(Value::Int(3)))
        );
        // v2's operators are unknown to v1.
        for unknown in [
            "number id gte 3",
            "number id lte 3",
            "number id nin 1,2",
            "string user_tags nin vip",
        ] {
            assert!(v1_filter(unknown).is_err(), "{unknown}");
        }
        assert!(v1_filter("number id in x").is_err());
        assert!(v1_filter("number nope eq 1").is_err());
        assert!(v1_filter("number id").is_err());
        assert!(v1_filter("date id between 2020-01-01").is_err());
        assert!(v1_filter("string user_tags gt a").is_err());
    }

    /// Finding: 995 values in a list built a 995-deep SQL expression (503).
    /// Lists are bounded, at the limit they work, past it they are a 422
    /// naming the field.
    #[test]
    fn value_lists_stop_at_their_limit_with_a_422_naming_the_field() {
        let list = |key: &str, n: usize| {
            (0..n)
                .map(|i| format!("{key}={i}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        for key in ["id[in][]", "user_tags[in][]", "login[in][]"] {
            let query = v2_query(&pairs(&list(key, LIST_VALUES_MAX))).unwrap();
            assert_eq!(query.filters.len(), 1);
            let field = key.split('[').next().unwrap();
            let err = v2_query(&pairs(&list(key, LIST_VALUES_MAX + 1))).unwrap_err();
            assert_eq!(err.status, http::StatusCode::UNPROCESSABLE_ENTITY);
            assert!(err.errors.contains_key(field), "{key}: {:?}", err.errors);
        }
        let nin = format!("login=a&{}", list("user_tags[nin][]", LIST_VALUES_MAX + 1));
        assert!(
            v2_query(&pairs(&nin))
                .unwrap_err()
                .errors
                .contains_key("user_tags")
        );

        let tags = |n: usize| {
            (0..n)
                .map(|i| format!("t{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(
            tags_param(&pairs(&format!("tags={}", tags(LIST_VALUES_MAX))))
                .unwrap()
                .len(),
            LIST_VALUES_MAX
        );
        let err = tags_param(&pairs(&format!("tags={}", tags(LIST_VALUES_MAX + 1)))).unwrap_err();
        assert!(err.errors.contains_key("tags"));

        let ids = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert!(v1_filter(&format!("number id in {}", ids(LIST_VALUES_MAX))).is_ok());
        let err = v1_filter(&format!("number id in {}", ids(LIST_VALUES_MAX + 1))).unwrap_err();
        assert!(err.errors.contains_key("filter"));
    }

    #[test]
    fn conditions_stop_at_their_limit_with_a_422_naming_the_field() {
        let filters = |n: usize| {
            (0..n)
                .map(|i| format!("filter[]=string+login+ne+u{i}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert_eq!(
            v1_filters(&pairs(&filters(CONDITIONS_MAX))).unwrap().len(),
            CONDITIONS_MAX
        );
        let err = v1_filters(&pairs(&filters(CONDITIONS_MAX + 1))).unwrap_err();
        assert!(err.errors.contains_key("filter"));

        let clauses = |n: usize| {
            (0..n)
                .map(|i| format!("login=u{i}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert_eq!(
            v2_query(&pairs(&clauses(CONDITIONS_MAX)))
                .unwrap()
                .filters
                .len(),
            CONDITIONS_MAX
        );
        let err = v2_query(&pairs(&clauses(CONDITIONS_MAX + 1))).unwrap_err();
        assert!(err.errors.contains_key("login"));
    }
}

#[cfg(test)]
mod plans {
    //! `EXPLAIN QUERY PLAN` of every search shape the handlers build: none
    //! reads the users table in full. A shape with a selective filter is
    //! driven by an index or by row ids; only a v1 list with no selective
    //! filter walks the application's users, in the order asked (so it
    //! stops after the page, no sort).

    use super::*;
    use crate::store::{Store, search};

    fn pairs(query: &str) -> Vec<(String, String)> {
        crate::wire::parse_pairs(query).unwrap()
    }

    /// The plans of `query`, with and without expired guests to leave out.
    fn plan(store: &Store, query: &UserQuery) -> Vec<String> {
        let mut lines = Vec::new();
        for expired in [false, true] {
            lines.extend(
                store
                    .read(|db| search::explain(db, query, expired))
                    .unwrap(),
            );
        }
        lines
    }

    /// A step that visits every user of the application (or of the table).
    fn full_walk(line: &str) -> bool {
        let step = line.split_once(": ").map_or(line, |(_, step)| step);
        step.starts_with("SCAN users")
            || (step.starts_with("SEARCH users USING") && step.ends_with("(app_id=?)"))
    }

    /// The count and the driven page read no more than the matches; the
    /// walk (taken only when the matches are most users) follows the order
    /// asked and stops after the page.
    fn assert_selective(store: &Store, shape: &str, query: &UserQuery) {
        let lines = plan(store, query);
        let (walk, others): (Vec<&String>, Vec<&String>) =
            lines.iter().partition(|l| l.starts_with("walk:"));
        assert!(
            !others.iter().any(|l| full_walk(l)),
            "{shape} reads every user:\n{}",
            lines.join("\n")
        );
        assert!(
            others.iter().any(|l| l.starts_with("driven: SEARCH")),
            "{shape}: {lines:?}"
        );
        assert!(
            !walk
                .iter()
                .any(|l| l.contains("SCAN users") || l.contains("TEMP B-TREE")),
            "{shape}: {walk:?}"
        );
    }

    const V2_FIELDS: [&str; 9] = [
        "id",
        "login",
        "email",
        "full_name",
        "phone",
        "external_id",
        "facebook_id",
        "twitter_id",
        "user_tags",
    ];
    const V2_SORTS: [&str; 12] = [
        "id",
        "login",
        "email",
        "full_name",
        "phone",
        "external_id",
        "facebook_id",
        "twitter_id",
        "user_tags",
        "created_at",
        "updated_at",
        "last_request_at",
    ];

    #[test]
    fn no_v2_search_shape_reads_every_user() {
        let store = Store::open(None).unwrap();
        let mut shapes = 0;
        for field in V2_FIELDS {
            let mut primaries = vec![
                format!("{field}=7"),
                format!("{field}[in][]=7&{field}[in][]=8"),
            ];
            if field != "id" {
                primaries.push(format!("{field}[start_with]=abcd"));
            }
            for primary in primaries {
                let extras = [
                    String::new(),
                    "&login[nin][]=x".into(),
                    "&user_tags[nin][]=x".into(),
                    "&id[nin][]=1".into(),
                    "&created_at[gt]=0&updated_at[lte]=2030-01-01".into(),
                    "&last_request_at[lt]=0&offset=200&limit=10".into(),
                    "&user_tags=vip".into(),
                    "&login[start_with]=abcd".into(),
                ];
                for extra in &extras {
                    for sort in V2_SORTS {
                        for dir in ["sort_asc", "sort_desc"] {
                            let shape = format!("{primary}{extra}&{dir}={sort}");
                            let query = v2_query(&pairs(&shape)).unwrap();
                            assert_selective(&store, &shape, &query);
                            shapes += 1;
                        }
                    }
                }
            }
        }
        assert!(shapes > 1_000, "{shapes}");
    }

    const V1_FIELDS: [(&str, &str, &str); 16] = [
        ("number", "id", "7"),
        ("string", "login", "ann"),
        ("string", "email", "a@b.c"),
        ("string", "full_name", "Ann"),
        ("string", "phone", "+1"),
        ("string", "website", "w"),
        ("number", "external_user_id", "9"),
        ("string", "external_id", "e"),
        ("string", "facebook_id", "f"),
        ("string", "twitter_id", "t"),
        ("number", "blob_id", "3"),
        ("number", "timezone", "180"),
        ("string", "user_tags", "vip"),
        ("date", "created_at", "2020-01-01"),
        ("date", "updated_at", "2020-01-01"),
        ("date", "last_request_at", "2020-01-01"),
    ];

    #[test]
    fn no_v1_list_shape_reads_every_user() {
        let store = Store::open(None).unwrap();
        let orders: Vec<String> = V1_FIELDS
            .iter()
            .flat_map(|(kind, field, _)| {
                ["asc", "desc"].map(|dir| format!("&order={dir}+{kind}+{field}"))
            })
            .chain([String::new()])
            .collect();
        for (kind, field, value) in V1_FIELDS {
            let ops: &[&str] = if field == "user_tags" {
                &["eq", "in"]
            } else {
                &["eq", "in", "lt", "le", "gt", "ge", "between"]
            };
            for op in ops {
                let value = match *op {
                    "in" | "between" => format!("{value},{value}"),
                    _ => value.to_owned(),
                };
                for exclusion in [
                    "",
                    "&filter[]=string+login+ne+x",
                    "&filter[]=string+user_tags+ne+x",
                ] {
                    for order in &orders {
                        let shape =
                            format!("filter[]={kind}+{field}+{op}+{value}{exclusion}{order}");
                        let p = pairs(&shape);
                        let query = UserQuery {
                            filters: v1_filters(&p).unwrap(),
                            order: Column::Id,
                            descending: false,
                            limit: 10,
                            offset: 0,
                        };
                        let (order, descending) = match order.as_str() {
                            "" => (Column::Id, false),
                            o => {
                                let mut parts = o.trim_start_matches("&order=").split('+');
                                let dir = parts.next().unwrap();
                                (v1_column(parts.nth(1).unwrap()).unwrap(), dir == "desc")
                            }
                        };
                        let query = UserQuery {
                            order,
                            descending,
                            ..query
                        };
                        assert_selective(&store, &shape, &query);
                    }
                }
            }
        }
        for shape in [
            vec![Filter::NameContains("smith".into())],
            vec![Filter::NameContains("sm".into())],
            vec![Filter::TagsAny(vec!["red".into(), "blue".into()])],
        ] {
            let query = UserQuery {
                filters: shape.clone(),
                order: Column::Id,
                descending: false,
                limit: 10,
                offset: 20,
            };
            assert_selective(&store, &format!("{shape:?}"), &query);
        }
    }

    #[test]
    fn an_unfiltered_v1_list_walks_its_order_and_stops_after_the_page() {
        let store = Store::open(None).unwrap();
        for (_, field, _) in V1_FIELDS {
            for descending in [false, true] {
                for filters in [
                    vec![],
                    vec![Filter::Column(
                        Column::Login,
                        Condition::Ne(Value::Text("x".into())),
                    )],
                    vec![Filter::TagsNone(vec!["x".into()])],
                ] {
                    let query = UserQuery {
                        filters,
                        order: v1_column(field).unwrap(),
                        descending,
                        limit: 10,
                        offset: 0,
                    };
                    let lines = plan(&store, &query);
                    let page: Vec<&String> =
                        lines.iter().filter(|l| l.starts_with("driven:")).collect();
                    assert!(
                        !page
                            .iter()
                            .any(|l| l.contains("SCAN users") || l.contains("TEMP B-TREE")),
                        "{query:?}: {page:?}"
                    );
                }
            }
        }
    }
}
