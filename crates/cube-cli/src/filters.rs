//! Search filters as people write them — `login start_with john`,
//! `created_at > 2026-01-01`, `id in 1,2,3` — turned into the SDK's typed
//! filters. The field and operator names, each field's value type and
//! every rule the server applies are the SDK's; this only reads the words.

use crate::error::{Failure, Result};
use cube_blocking::proto::search::{Value, ValueType};
use cube_blocking::{Direction, Field, Filter, Operator};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// Reads `FIELD OP VALUE`; the value is the rest of the text, spaces
/// included (`full_name eq John Doe`); `in` and `nin` take a
/// comma-separated list.
pub(crate) fn parse_filter(text: &str) -> Result<Filter> {
    let bad = |why: String| Failure::usage(format!("--where {text:?}: {why}"));
    let mut words = text.trim().splitn(2, char::is_whitespace);
    let field_name = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start();
    let mut words = rest.splitn(2, char::is_whitespace);
    let op_name = words.next().unwrap_or_default();
    let value = words.next().unwrap_or_default().trim();
    if field_name.is_empty() || op_name.is_empty() || value.is_empty() {
        return Err(bad(
            "write FIELD OP VALUE, e.g. 'login start_with john'".to_owned()
        ));
    }
    let field = parse_field(field_name).map_err(bad)?;
    let op = parse_operator(op_name).ok_or_else(|| {
        bad(format!(
            "unknown operator {op_name:?}; use one of {}",
            operator_names()
        ))
    })?;
    let texts: Vec<&str> = if op.takes_list() {
        value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    } else {
        vec![value]
    };
    let values = texts
        .iter()
        .map(|v| parse_value(field, v))
        .collect::<std::result::Result<Vec<Value>, String>>()
        .map_err(bad)?;
    Ok(Filter::new(field, op, values))
}

/// `created_at` (ascending) or `-created_at` (descending); `+` is allowed.
pub(crate) fn parse_sort(text: &str) -> Result<(Direction, Field)> {
    let (direction, name) = match text.strip_prefix('-') {
        Some(name) => (Direction::Descending, name),
        None => (Direction::Ascending, text.strip_prefix('+').unwrap_or(text)),
    };
    let field = parse_field(name).map_err(|why| Failure::usage(format!("--sort: {why}")))?;
    Ok((direction, field))
}

fn parse_field(name: &str) -> std::result::Result<Field, String> {
    let name = name.to_ascii_lowercase();
    let name = match name.as_str() {
        "tags" => "user_tags",
        "created" => "created_at",
        "updated" => "updated_at",
        other => other,
    };
    Field::from_name(name).ok_or_else(|| {
        let all: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        format!("unknown field {name:?}; use one of {}", all.join(", "))
    })
}

fn parse_operator(name: &str) -> Option<Operator> {
    let name = name.to_ascii_lowercase();
    let op = match name.as_str() {
        "=" | "==" => Operator::Eq,
        ">" => Operator::Gt,
        "<" => Operator::Lt,
        ">=" => Operator::Gte,
        "<=" => Operator::Lte,
        "not_in" => Operator::Nin,
        "starts_with" => Operator::StartWith,
        other => return Operator::from_name(other),
    };
    Some(op)
}

fn operator_names() -> String {
    let all: Vec<&str> = Operator::ALL.iter().map(|o| o.name()).collect();
    format!("{} (or =, >, <, >=, <=)", all.join(", "))
}

/// A value of the field's type: a number for `id`, a date for the times
/// (`2026-01-01` is that day's start in UTC, or RFC 3339), text otherwise.
fn parse_value(field: Field, text: &str) -> std::result::Result<Value, String> {
    match field.value_type() {
        ValueType::Integer => text
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| format!("{field} takes a number, not {text:?}")),
        ValueType::Date => parse_date(text)
            .map(Value::from)
            .ok_or_else(|| format!("{field} takes a date (YYYY-MM-DD or RFC 3339), not {text:?}")),
        _ => Ok(Value::from(text)),
    }
}

fn parse_date(text: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &day)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cube_blocking::UserSearch;

    #[test]
    fn filters_read_as_people_say_them() {
        let f = parse_filter("login start_with john").unwrap();
        assert_eq!(f, Filter::new(Field::Login, Operator::StartWith, ["john"]));
        let f = parse_filter("created_at > 2026-01-01").unwrap();
        assert_eq!((f.field, f.op), (Field::CreatedAt, Operator::Gt));
        assert_eq!(f.values, [Value::Date(1_767_225_600)]);
        let f = parse_filter("  full_name   eq  John  Doe ").unwrap();
        assert_eq!(f.values, [Value::from("John  Doe")]);
        let f = parse_filter("id in 1, 2,3").unwrap();
        assert_eq!(
            f.values,
            [Value::Integer(1), Value::Integer(2), Value::Integer(3)]
        );
        let f = parse_filter("tags not_in vip").unwrap();
        assert_eq!((f.field, f.op), (Field::UserTags, Operator::Nin));
        let f = parse_filter("updated_at lte 2026-01-01T10:00:00Z").unwrap();
        assert_eq!(f.values, [Value::Date(1_767_261_600)]);
    }

    #[test]
    fn a_bad_filter_says_what_is_wrong() {
        for (text, says) in [
            ("login", "FIELD OP VALUE"),
            ("nick eq x", "unknown field"),
            ("login like x", "unknown operator"),
            ("id eq seven", "takes a number"),
            ("created_at gt yesterday", "takes a date"),
        ] {
            let err = parse_filter(text).unwrap_err();
            assert_eq!(err.status, crate::error::Status::Usage);
            assert!(err.line().contains(says), "{text}: {}", err.line());
        }
    }

    #[test]
    fn the_sdk_still_applies_the_servers_rules() {
        let search = UserSearch::new().filter(parse_filter("created_at gt 2026-01-01").unwrap());
        assert!(search.build().is_err(), "dates alone are refused");
    }

    #[test]
    fn sort_reads_a_direction() {
        assert_eq!(
            parse_sort("-created_at").unwrap(),
            (Direction::Descending, Field::CreatedAt)
        );
        assert_eq!(parse_sort("id").unwrap(), (Direction::Ascending, Field::Id));
        assert_eq!(
            parse_sort("+login").unwrap(),
            (Direction::Ascending, Field::Login)
        );
        assert!(parse_sort("-nick").is_err());
    }
}
