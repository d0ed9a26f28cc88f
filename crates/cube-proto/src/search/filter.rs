//! Fields, operators, values and the rules of `GET /users/v2`.

use crate::error::{Error, InvalidInput};
use std::fmt;
use time::OffsetDateTime;

/// A field `GET /users/v2` filters or sorts on (`docs/PROTOCOL.md`, "Search").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Field {
    /// `id`: integer, stand-alone.
    Id,
    /// `login`: text, stand-alone.
    Login,
    /// `email`: text, stand-alone.
    Email,
    /// `full_name`: text, stand-alone.
    FullName,
    /// `phone`: text, stand-alone.
    Phone,
    /// `external_id`: text, stand-alone.
    ExternalId,
    /// `facebook_id`: text, stand-alone.
    FacebookId,
    /// `twitter_id`: text, stand-alone.
    TwitterId,
    /// `user_tags`: text (one tag per value), stand-alone and additional.
    UserTags,
    /// `last_request_at`: date, additional only.
    LastRequestAt,
    /// `created_at`: date, additional only.
    CreatedAt,
    /// `updated_at`: date, additional only.
    UpdatedAt,
}

/// What type of value a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// An integer (`id`).
    Integer,
    /// Text.
    Text,
    /// A date, sent as unix seconds.
    Date,
}

impl Field {
    /// Every field, in a fixed order.
    pub const ALL: [Field; 12] = [
        Field::Id,
        Field::Login,
        Field::Email,
        Field::FullName,
        Field::Phone,
        Field::ExternalId,
        Field::FacebookId,
        Field::TwitterId,
        Field::UserTags,
        Field::LastRequestAt,
        Field::CreatedAt,
        Field::UpdatedAt,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Login => "login",
            Field::Email => "email",
            Field::FullName => "full_name",
            Field::Phone => "phone",
            Field::ExternalId => "external_id",
            Field::FacebookId => "facebook_id",
            Field::TwitterId => "twitter_id",
            Field::UserTags => "user_tags",
            Field::LastRequestAt => "last_request_at",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
        }
    }

    /// The field with this wire name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the field is stand-alone: it may carry the primary filter a
    /// search needs, and never takes compare operators.
    pub fn is_stand_alone(self) -> bool {
        !self.is_date()
    }

    /// Whether the field is a date: additional only, it takes a compare
    /// operator or `eq`, and never counts as the stand-alone primary filter.
    pub fn is_date(self) -> bool {
        matches!(
            self,
            Field::LastRequestAt | Field::CreatedAt | Field::UpdatedAt
        )
    }

    /// The type of its values.
    pub fn value_type(self) -> ValueType {
        match self {
            Field::Id => ValueType::Integer,
            f if f.is_date() => ValueType::Date,
            _ => ValueType::Text,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A filter operator of `GET /users/v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operator {
    /// Primary: equal (`field=v`).
    Eq,
    /// Primary: any of (`field[in][]=v1&field[in][]=v2`).
    In,
    /// Primary: text prefix of at least 4 characters (`field[start_with]=v`).
    StartWith,
    /// Exclude: none of (`field[nin][]=v`).
    Nin,
    /// Compare: greater than (`field[gt]=v`).
    Gt,
    /// Compare: less than.
    Lt,
    /// Compare: greater than or equal.
    Gte,
    /// Compare: less than or equal.
    Lte,
}

impl Operator {
    /// Every operator, in a fixed order.
    pub const ALL: [Operator; 8] = [
        Operator::Eq,
        Operator::In,
        Operator::StartWith,
        Operator::Nin,
        Operator::Gt,
        Operator::Lt,
        Operator::Gte,
        Operator::Lte,
    ];

    /// The name on the wire (`eq` is written as a plain `field=v`).
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::In => "in",
            Operator::StartWith => "start_with",
            Operator::Nin => "nin",
            Operator::Gt => "gt",
            Operator::Lt => "lt",
            Operator::Gte => "gte",
            Operator::Lte => "lte",
        }
    }

    /// The operator with this wire name.
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.name() == name)
    }

    /// `eq`, `in`, `start_with`.
    pub fn is_primary(self) -> bool {
        matches!(self, Operator::Eq | Operator::In | Operator::StartWith)
    }

    /// `gt`, `lt`, `gte`, `lte`.
    pub fn is_compare(self) -> bool {
        matches!(
            self,
            Operator::Gt | Operator::Lt | Operator::Gte | Operator::Lte
        )
    }

    /// `in` and `nin` take a list of values; the others exactly one.
    pub fn takes_list(self) -> bool {
        matches!(self, Operator::In | Operator::Nin)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// An integer (ids).
    Integer(u64),
    /// Text.
    Text(String),
    /// A date, as unix seconds (what is sent).
    Date(i64),
}

impl Value {
    /// Its type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Integer(_) => ValueType::Integer,
            Value::Text(_) => ValueType::Text,
            Value::Date(_) => ValueType::Date,
        }
    }

    /// How it is written in the query (before percent-encoding).
    pub fn to_query_text(&self) -> String {
        match self {
            Value::Integer(n) => n.to_string(),
            Value::Text(s) => s.clone(),
            Value::Date(secs) => secs.to_string(),
        }
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Integer(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Text(s.clone())
    }
}

/// A date is sent as whole unix seconds (sub-second parts are dropped).
impl From<OffsetDateTime> for Value {
    fn from(t: OffsetDateTime) -> Self {
        Value::Date(t.unix_timestamp())
    }
}

/// One condition: a field, an operator and its value(s).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    /// The field.
    pub field: Field,
    /// The operator.
    pub op: Operator,
    /// One value, or the list of `in`/`nin`.
    pub values: Vec<Value>,
}

impl Filter {
    /// A condition; checked with the others when the search is built.
    pub fn new<I, V>(field: Field, op: Operator, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Self {
            field,
            op,
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// A rule of `GET /users/v2` (or of the query's shape) that a set of filters breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// At least one stand-alone field must take a primary operator (`eq`,
    /// `in`, `start_with`).
    StandAlonePrimaryRequired,
    /// Stand-alone fields never take compare operators.
    NoCompareOnStandAlone,
    /// Dates take only compare operators and `eq` (never `in`, `nin` or
    /// `start_with`).
    DatesOnlyCompareOrEq,
    /// `start_with` needs at least 4 characters of text.
    StartWithTooShort,
    /// A value of the wrong type (ids are integers, dates are dates, the
    /// rest non-empty text), or the wrong number of values (`in`/`nin` take one or
    /// more, the others exactly one).
    BadValue,
    /// The same field with the same operator twice.
    DuplicateCondition,
    /// `limit` must be 1 to 100.
    LimitOutOfRange,
}

impl Rule {
    /// A stable name for the rule (also the `field` of the
    /// [`InvalidInput`] it becomes).
    pub fn code(self) -> &'static str {
        match self {
            Rule::StandAlonePrimaryRequired => "v2 rule: stand-alone primary filter required",
            Rule::NoCompareOnStandAlone => "v2 rule: no compare operator on a stand-alone field",
            Rule::DatesOnlyCompareOrEq => "v2 rule: dates take only compare operators or eq",
            Rule::StartWithTooShort => "v2 rule: start_with needs at least 4 characters",
            Rule::BadValue => "v2 rule: value type and count",
            Rule::DuplicateCondition => "v2 rule: one condition per field and operator",
            Rule::LimitOutOfRange => "v2 rule: limit is 1 to 100",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A search refused before any request existed: the broken rule and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {detail}")]
pub struct SearchError {
    /// The rule.
    pub rule: Rule,
    /// What broke it.
    pub detail: String,
}

impl SearchError {
    pub(crate) fn new(rule: Rule, detail: impl Into<String>) -> Self {
        Self {
            rule,
            detail: detail.into(),
        }
    }
}

impl From<SearchError> for InvalidInput {
    fn from(e: SearchError) -> Self {
        InvalidInput::new(e.rule.code(), e.detail)
    }
}

impl From<SearchError> for Error {
    fn from(e: SearchError) -> Self {
        Error::InvalidInput(e.into())
    }
}

/// The largest page `GET /users/v2` serves.
pub const MAX_LIMIT: u32 = 100;
/// The page size the server applies whenever `start_with` is used.
pub const START_WITH_LIMIT: u32 = 5;
/// The shortest `start_with` prefix, in characters.
pub const START_WITH_MIN_CHARS: usize = 4;

/// Checks one condition on its own.
pub(crate) fn check_filter(filter: &Filter) -> Result<(), SearchError> {
    let Filter { field, op, values } = filter;
    let (field, op) = (*field, *op);
    if field.is_stand_alone() && op.is_compare() {
        return Err(SearchError::new(
            Rule::NoCompareOnStandAlone,
            format!("{field} is a stand-alone field and cannot take `{op}`"),
        ));
    }
    if field.is_date() && !(op.is_compare() || op == Operator::Eq) {
        return Err(SearchError::new(
            Rule::DatesOnlyCompareOrEq,
            format!("{field} is a date and takes only gt, lt, gte, lte or eq, not `{op}`"),
        ));
    }
    let count_ok = if op.takes_list() {
        !values.is_empty()
    } else {
        values.len() == 1
    };
    if !count_ok {
        let want = if op.takes_list() {
            "one or more values"
        } else {
            "exactly one value"
        };
        return Err(SearchError::new(
            Rule::BadValue,
            format!("{field}[{op}] takes {want}, got {}", values.len()),
        ));
    }
    if op == Operator::StartWith && field.value_type() != ValueType::Text {
        return Err(SearchError::new(
            Rule::BadValue,
            format!("start_with takes text, and {field} is not a text field"),
        ));
    }
    if let Some(bad) = values.iter().find(|v| v.value_type() != field.value_type()) {
        return Err(SearchError::new(
            Rule::BadValue,
            format!(
                "{field} takes {:?} values, got {:?}",
                field.value_type(),
                bad.value_type()
            ),
        ));
    }
    if values
        .iter()
        .any(|v| matches!(v, Value::Text(t) if t.is_empty()))
    {
        return Err(SearchError::new(
            Rule::BadValue,
            format!("{field}[{op}] has an empty value"),
        ));
    }
    if op == Operator::StartWith
        && let Some(Value::Text(prefix)) = values.first()
    {
        let chars = prefix.chars().count();
        if chars < START_WITH_MIN_CHARS {
            return Err(SearchError::new(
                Rule::StartWithTooShort,
                format!("{field}[start_with] has {chars} characters, at least 4 are needed"),
            ));
        }
    }
    Ok(())
}

/// Checks a whole set of conditions and the page size.
pub(crate) fn check_all(filters: &[Filter], limit: Option<u32>) -> Result<(), SearchError> {
    for filter in filters {
        check_filter(filter)?;
    }
    for (i, a) in filters.iter().enumerate() {
        if filters[..i]
            .iter()
            .any(|b| b.field == a.field && b.op == a.op)
        {
            return Err(SearchError::new(
                Rule::DuplicateCondition,
                format!(
                    "{}[{}] appears twice; merge the values or keep one",
                    a.field, a.op
                ),
            ));
        }
    }
    if !filters
        .iter()
        .any(|f| f.field.is_stand_alone() && f.op.is_primary())
    {
        return Err(SearchError::new(
            Rule::StandAlonePrimaryRequired,
            "add eq, in or start_with on id, login, email, full_name, phone, external_id, \
             facebook_id, twitter_id or user_tags (a date's eq does not count)",
        ));
    }
    if let Some(limit) = limit
        && (limit == 0 || limit > MAX_LIMIT)
    {
        return Err(SearchError::new(
            Rule::LimitOutOfRange,
            format!("limit {limit} is not within 1..=100"),
        ));
    }
    Ok(())
}
