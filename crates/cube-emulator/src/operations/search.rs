//! User lists: the v1 list (`filter[]`, `order`), by full name, by tags,
//! and the v2 search with its operator rules (`docs/PROTOCOL.md`, "Search").

use rusqlite::types::Value as Sql;
use serde_json::json;

use super::{Ctx, Outcome, Reply};
use crate::clock::parse_date;
use crate::error::{ApiError, ensure};
use crate::store::users::{self, Page};

const LIST_DISABLED: &str = "Users listing is disabled for this application";
const V1_DEFAULT_PER_PAGE: i64 = 10;
const V2_DEFAULT_LIMIT: i64 = 100;
const MAX_PAGE: i64 = 100;
const START_WITH_MIN: usize = 4;
const START_WITH_LIMIT: i64 = 5;
/// Most filter values one query may carry (SQLite binds at most 32,766).
const MAX_VALUES: usize = 1000;

fn check_size(args: &[Sql]) -> Result<(), ApiError> {
    ensure(args.len() <= MAX_VALUES, || {
        ApiError::invalid(format!("Too many filter values (at most {MAX_VALUES})"))
    })
}

/// The application of the caller's session, if it allows listing.
fn listing_app(ctx: &Ctx, v1: bool) -> Result<i64, ApiError> {
    let app_id = ctx.session()?.app_id;
    let app = ctx.state.app(app_id).ok_or_else(ApiError::no_session)?;
    ensure(app.settings.list_users, || {
        ApiError::forbidden(LIST_DISABLED)
    })?;
    ensure(!v1 || app.settings.list_users_v1, || {
        ApiError::forbidden(LIST_DISABLED)
    })?;
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

/// Runs a v1-paged query: `{"current_page", "per_page", "total_entries", "items"}`.
fn v1_page(
    ctx: &Ctx,
    app_id: i64,
    conditions: Vec<String>,
    args: Vec<Sql>,
    order: String,
) -> Outcome {
    let page = positive(ctx, "page", 1)?;
    let per_page = positive(ctx, "per_page", V1_DEFAULT_PER_PAGE)?.min(MAX_PAGE);
    check_size(&args)?;
    let query = Page {
        conditions,
        args,
        order,
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    let (total, rows) = ctx
        .state
        .store
        .read(|c| Ok(users::page(c, app_id, ctx.now, &query)?))?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|u| json!({ "user": ctx.state.overlay(u).to_json() }))
        .collect();
    Ok(Reply::ok(json!({
        "current_page": page,
        "per_page": per_page,
        "total_entries": total,
        "items": items,
    })))
}

/// A user field as a SQL column, for v1 filters and ordering.
fn v1_column(field: &str) -> Option<&'static str> {
    Some(match field {
        "id" => "id",
        "login" => "login",
        "email" => "email_key",
        "full_name" => "full_name",
        "phone" => "phone",
        "website" => "website",
        "external_user_id" => "external_user_id",
        "external_id" => "external_id",
        "facebook_id" => "facebook_id",
        "twitter_id" => "twitter_id",
        "blob_id" => "blob_id",
        "timezone" => "timezone",
        "user_tags" => "user_tags",
        "created_at" => "created_at",
        "updated_at" => "updated_at",
        "last_request_at" => "last_request_at",
        _ => return None,
    })
}

fn v1_value(kind: &str, column: &str, raw: &str) -> Option<Sql> {
    match kind {
        "number" => raw.parse::<i64>().map(Sql::Integer).ok().or_else(|| {
            raw.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Sql::Real)
        }),
        "string" if column == "email_key" => Some(Sql::Text(raw.to_lowercase())),
        "string" => Some(Sql::Text(raw.to_owned())),
        "date" => parse_date(raw).map(Sql::Integer),
        _ => None,
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `TYPE FIELD OP VALUE` → a SQL condition.
fn v1_filter(
    filter: &str,
    conditions: &mut Vec<String>,
    args: &mut Vec<Sql>,
) -> Result<(), ApiError> {
    let bad = || ApiError::invalid_field("filter", format!("is invalid: {filter}"));
    let mut parts = filter.splitn(4, ' ');
    let (Some(kind), Some(field), Some(op), Some(raw)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let column = v1_column(field).ok_or_else(bad)?;
    let value = |raw: &str| v1_value(kind, column, raw).ok_or_else(bad);
    let many = |raw: &str| raw.split(',').map(value).collect::<Result<Vec<_>, _>>();
    let condition = match op {
        "lt" | "lte" | "gt" | "gte" | "eq" => {
            let sign = match op {
                "lt" => "<",
                "lte" => "<=",
                "gt" => ">",
                "gte" => ">=",
                _ => "=",
            };
            args.push(value(raw)?);
            format!("{column} {sign} ?")
        }
        "ne" => {
            args.push(value(raw)?);
            format!("{column} IS NULL OR {column} != ?")
        }
        "in" | "nin" => {
            let values = many(raw)?;
            let list = placeholders(values.len());
            args.extend(values);
            if op == "in" {
                format!("{column} IN ({list})")
            } else {
                format!("{column} IS NULL OR {column} NOT IN ({list})")
            }
        }
        "between" => {
            let values = many(raw)?;
            ensure(values.len() == 2, bad)?;
            args.extend(values);
            format!("{column} BETWEEN ? AND ?")
        }
        _ => return Err(bad()),
    };
    conditions.push(condition);
    Ok(())
}

/// `GET /users` (deprecated v1 list).
pub(crate) async fn list_v1(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, true)?;
    let mut conditions = Vec::new();
    let mut args = Vec::new();
    for (key, value) in &ctx.query {
        if key == "filter[]" || key == "filter" {
            v1_filter(value, &mut conditions, &mut args)?;
        }
    }
    let order = match ctx.query("order") {
        None | Some("") => "id ASC".to_owned(),
        Some(order) => {
            let bad = || ApiError::invalid_field("order", format!("is invalid: {order}"));
            let parts: Vec<&str> = order.split(' ').collect();
            let [dir, kind, field] = parts.as_slice() else {
                return Err(bad());
            };
            ensure(matches!(*kind, "number" | "string" | "date"), bad)?;
            let column = v1_column(field).ok_or_else(bad)?;
            match *dir {
                "asc" => format!("{column} ASC"),
                "desc" => format!("{column} DESC"),
                _ => return Err(bad()),
            }
        }
    };
    v1_page(ctx, app_id, conditions, args, order)
}

/// `GET /users/by_full_name?full_name=`: case-insensitive substring.
pub(crate) async fn by_full_name(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, false)?;
    let name = ctx.required_query("full_name")?.to_lowercase();
    v1_page(
        ctx,
        app_id,
        vec!["instr(lower(full_name), ?) > 0".into()],
        vec![Sql::Text(name)],
        "id ASC".into(),
    )
}

/// `GET /users/by_tags?tags=a,b` (or `tags[]=a&tags[]=b`): any tag matches.
pub(crate) async fn by_tags(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, false)?;
    let tags: Vec<String> = ctx
        .query
        .iter()
        .filter(|(k, _)| k == "tags" || k == "tags[]")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    ensure(!tags.is_empty(), || {
        ApiError::invalid_field("tags", "can't be blank")
    })?;
    let condition = vec![HAS_TAG; tags.len()].join(" OR ");
    let args = tags.into_iter().map(Sql::Text).collect();
    v1_page(ctx, app_id, vec![condition], args, "id ASC".into())
}

/// The user has the tag `?` (tags are stored comma-joined, without commas).
const HAS_TAG: &str = "instr(',' || IFNULL(user_tags, '') || ',', ',' || ? || ',') > 0";
/// One of the user's tags starts with `?`.
const TAG_STARTS: &str = "instr(',' || IFNULL(user_tags, ''), ',' || ?) > 0";

/// How a v2 field is stored and which operators it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Text(&'static str),
    Email,
    Tags,
    Date(&'static str),
}

fn v2_field(name: &str) -> Option<Field> {
    Some(match name {
        "id" => Field::Id,
        "login" => Field::Text("login"),
        "email" => Field::Email,
        "full_name" => Field::Text("full_name"),
        "phone" => Field::Text("phone"),
        "external_id" => Field::Text("external_id"),
        "facebook_id" => Field::Text("facebook_id"),
        "twitter_id" => Field::Text("twitter_id"),
        "user_tags" => Field::Tags,
        "last_request_at" => Field::Date("last_request_at"),
        "created_at" => Field::Date("created_at"),
        "updated_at" => Field::Date("updated_at"),
        _ => return None,
    })
}

impl Field {
    fn column(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Text(c) | Field::Date(c) => c,
            Field::Email => "email_key",
            Field::Tags => "user_tags",
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

fn v2_value(clause: &Clause, raw: &str) -> Result<Sql, ApiError> {
    match clause.field {
        Field::Id => raw
            .trim()
            .parse::<i64>()
            .map(Sql::Integer)
            .map_err(|_| ApiError::invalid_field(&clause.name, "must be an integer")),
        Field::Date(_) => parse_date(raw)
            .map(Sql::Integer)
            .ok_or_else(|| ApiError::invalid_field(&clause.name, "is not a valid date")),
        Field::Email => Ok(Sql::Text(raw.to_lowercase())),
        Field::Text(_) | Field::Tags => Ok(Sql::Text(raw.to_owned())),
    }
}

fn v2_condition(clause: &Clause, args: &mut Vec<Sql>) -> Result<String, ApiError> {
    let column = clause.field.column();
    let values = clause
        .values
        .iter()
        .map(|v| v2_value(clause, v))
        .collect::<Result<Vec<_>, _>>()?;
    let n = values.len();
    let tags = clause.field == Field::Tags;
    let condition = match clause.op.as_str() {
        "eq" if tags => HAS_TAG.to_owned(),
        "in" if tags => vec![HAS_TAG; n].join(" OR "),
        "nin" if tags => format!("NOT ({})", vec![HAS_TAG; n].join(" OR ")),
        "start_with" if tags => TAG_STARTS.to_owned(),
        "eq" => format!("{column} = ?"),
        "in" => format!("{column} IN ({})", placeholders(n)),
        "nin" => format!("{column} IS NULL OR {column} NOT IN ({})", placeholders(n)),
        "start_with" => {
            let len = clause.values[0].chars().count();
            format!("substr({column}, 1, {len}) = ?")
        }
        "gt" => format!("{column} > ?"),
        "lt" => format!("{column} < ?"),
        "gte" => format!("{column} >= ?"),
        _ => format!("{column} <= ?"),
    };
    args.extend(values);
    Ok(condition)
}

/// `GET /users/v2`.
pub(crate) async fn search_v2(ctx: &Ctx) -> Outcome {
    let app_id = listing_app(ctx, false)?;
    let mut clauses: Vec<Clause> = Vec::new();
    let mut order = "id ASC".to_owned();
    let mut offset = 0;
    let mut limit = V2_DEFAULT_LIMIT;
    for (key, value) in &ctx.query {
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
                    .min(MAX_PAGE);
            }
            "sort_asc" | "sort_desc" => {
                let field = v2_field(value).ok_or_else(|| {
                    ApiError::invalid_field(key, format!("cannot sort by {value}"))
                })?;
                let dir = if key == "sort_asc" { "ASC" } else { "DESC" };
                order = format!("{} {dir}", field.column());
            }
            _ => {
                let (name, op) = split_param(key)
                    .ok_or_else(|| ApiError::invalid(format!("Malformed parameter {key}")))?;
                let field = v2_field(name)
                    .ok_or_else(|| ApiError::invalid_field(name, "is not a searchable field"))?;
                let allowed = match (field, op) {
                    (Field::Date(_), "gt" | "lt" | "gte" | "lte") => true,
                    (Field::Date(_), _) => false,
                    (_, "eq" | "in" | "nin" | "start_with") => true,
                    _ => false,
                };
                ensure(allowed, || {
                    ApiError::invalid_field(name, format!("does not take the operator {op}"))
                })?;
                if op == "start_with" {
                    ensure(value.chars().count() >= START_WITH_MIN, || {
                        ApiError::invalid_field(name, "start_with needs at least 4 characters")
                    })?;
                }
                let merge = matches!(op, "in" | "nin");
                match clauses
                    .iter_mut()
                    .find(|c| merge && c.name == name && c.op == op)
                {
                    Some(clause) => clause.values.push(value.clone()),
                    None => clauses.push(Clause {
                        name: name.to_owned(),
                        field,
                        op: op.to_owned(),
                        values: vec![value.clone()],
                    }),
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
        limit = START_WITH_LIMIT;
    }
    let mut args = Vec::new();
    let conditions = clauses
        .iter()
        .map(|c| v2_condition(c, &mut args))
        .collect::<Result<Vec<_>, _>>()?;
    check_size(&args)?;
    let query = Page {
        conditions,
        args,
        order,
        limit,
        offset,
    };
    let (total, rows) = ctx
        .state
        .store
        .read(|c| Ok(users::page(c, app_id, ctx.now, &query)?))?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|u| ctx.state.overlay(u).to_json())
        .collect();
    Ok(Reply::ok(json!({
        "skip": offset,
        "limit": limit,
        "total_entries": total,
        "items": items,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut c = Vec::new();
        let mut a = Vec::new();
        v1_filter("number id in 1,2,3", &mut c, &mut a).unwrap();
        v1_filter(
            "date created_at between 2020-01-01,2030-01-01",
            &mut c,
            &mut a,
        )
        .unwrap();
        assert_eq!(a.len(), 5);
        assert!(v1_filter("number id in x", &mut c, &mut a).is_err());
        assert!(v1_filter("number nope eq 1", &mut c, &mut a).is_err());
        assert!(v1_filter("number id", &mut c, &mut a).is_err());
        assert!(v1_filter("date id between 2020-01-01", &mut c, &mut a).is_err());
    }
}
