//! `GET /users`, the deprecated v1 list (`docs/PROTOCOL.md`, "Users"):
//! `filter[]=TYPE FIELD OP VALUE` conditions, an `order`, numbered pages.
//!
//! The operators are the public service's own for v1, as its documents list
//! them (ConnectyCube docs, `server/users.md`): `gt lt ge le eq ne between in`.
//! The v2 search spells its compare operators `gte`/`lte` and has `nin`; v1
//! has neither, and a server that does not know an operator refuses the
//! filter (`422`).
//!
//! The public service serves this list only to an application whose owner
//! turned it on (the dashboard's "DISABLE LIST USERS API V1" is ticked by
//! default); otherwise the answer is `403`. Prefer
//! [`SearchUsers`](crate::search::SearchUsers).

use crate::error::{Error, InvalidInput};
use crate::model::PageV1;
use crate::ops::{Access, Operation};
use crate::query::Query;
use crate::search::Direction;
use crate::wire::{self, Request, RequestContext, Response};
use http::Method;
use std::fmt;

/// The value type of a v1 filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V1Type {
    /// `number`.
    Number,
    /// `string`.
    String,
    /// `date`.
    Date,
}

impl V1Type {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            V1Type::Number => "number",
            V1Type::String => "string",
            V1Type::Date => "date",
        }
    }
}

impl fmt::Display for V1Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operator of a v1 filter: exactly the ones the public service
/// documents for `GET /users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V1Operator {
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal (v2 calls it `gte`).
    Ge,
    /// `le`: less than or equal (v2 calls it `lte`).
    Le,
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `between`: exactly two values, the bounds.
    Between,
    /// `in`: one or more values.
    In,
}

impl V1Operator {
    /// Every operator, in the order the service's documents list them.
    pub const ALL: [V1Operator; 8] = [
        V1Operator::Gt,
        V1Operator::Lt,
        V1Operator::Ge,
        V1Operator::Le,
        V1Operator::Eq,
        V1Operator::Ne,
        V1Operator::Between,
        V1Operator::In,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            V1Operator::Gt => "gt",
            V1Operator::Lt => "lt",
            V1Operator::Ge => "ge",
            V1Operator::Le => "le",
            V1Operator::Eq => "eq",
            V1Operator::Ne => "ne",
            V1Operator::Between => "between",
            V1Operator::In => "in",
        }
    }

    /// The operator with this wire name; `None` for any other, the v2
    /// names `gte`, `lte` and `nin` included.
    pub fn from_name(name: &str) -> Option<V1Operator> {
        V1Operator::ALL.into_iter().find(|o| o.name() == name)
    }

    /// `in` and `between` send their values as one comma-separated list.
    fn takes_list(self) -> bool {
        matches!(self, V1Operator::In | V1Operator::Between)
    }
}

impl fmt::Display for V1Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `filter[]=TYPE FIELD OP VALUE` condition of the v1 list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Filter {
    kind: V1Type,
    field: String,
    op: V1Operator,
    values: Vec<String>,
}

impl V1Filter {
    /// A condition; `in` takes one or more values, `between` two, the
    /// others one. Checked when the request is built.
    pub fn new<I, S>(kind: V1Type, field: impl Into<String>, op: V1Operator, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            kind,
            field: field.into(),
            op,
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    fn validate(&self) -> Result<(), InvalidInput> {
        if !is_field_name(&self.field) {
            return Err(InvalidInput::new(
                "filter",
                format!("{:?} is not a field name", self.field),
            ));
        }
        let count_ok = match self.op {
            V1Operator::In => !self.values.is_empty(),
            V1Operator::Between => self.values.len() == 2,
            _ => self.values.len() == 1,
        };
        if !count_ok {
            return Err(InvalidInput::new(
                "filter",
                format!("`{}` cannot take {} value(s)", self.op, self.values.len()),
            ));
        }
        // The server splits the values of `in` and `between` at commas, so a
        // comma inside one would make two values of it.
        if self.op.takes_list() && self.values.iter().any(|v| v.contains(',')) {
            return Err(InvalidInput::new(
                "filter",
                "values of a list travel comma-separated and cannot contain a comma",
            ));
        }
        if self.kind == V1Type::Number && self.values.iter().any(|v| v.parse::<f64>().is_err()) {
            return Err(InvalidInput::new("filter", "a number filter takes numbers"));
        }
        Ok(())
    }

    fn to_text(&self) -> String {
        format!(
            "{} {} {} {}",
            self.kind,
            self.field,
            self.op,
            self.values.join(",")
        )
    }
}

fn is_field_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `GET /users` (deprecated v1 list): ANDed `filter[]` conditions, an
/// `order`, numbered pages. Prefer [`SearchUsers`](crate::search::SearchUsers).
///
/// The public service serves this list only to an application whose owner
/// turned it on (its dashboard's "DISABLE LIST USERS API V1" is ticked by
/// default); otherwise the answer is a `403`, which no helper of
/// [`Error`] singles out.
///
/// ```
/// use cube_proto::search::{Direction, ListUsers, V1Filter, V1Operator, V1Type};
/// use cube_proto::ops::Operation;
/// use cube_proto::{Config, Secret, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let token = Secret::new("app-token");
/// let ctx = RequestContext { config: &config, token: Some(&token),
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = ListUsers::new()
///     .filter(V1Filter::new(V1Type::Number, "id", V1Operator::In, ["1", "2"]))
///     .filter(V1Filter::new(V1Type::Date, "created_at", V1Operator::Ge, ["2026-01-01"]))
///     .order(Direction::Descending, V1Type::Date, "created_at")
///     .page(2)
///     .per_page(50);
/// assert_eq!(
///     op.build(&ctx)?.uri().query(),
///     Some("filter[]=number%20id%20in%201%2C2&filter[]=date%20created_at%20ge%202026-01-01\
///           &order=desc%20date%20created_at&page=2&per_page=50")
/// );
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUsers {
    filters: Vec<V1Filter>,
    order: Option<(Direction, V1Type, String)>,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl ListUsers {
    /// Every user, first page, server defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a condition (conditions are ANDed).
    pub fn filter(mut self, filter: V1Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// `order=asc|desc TYPE FIELD`.
    pub fn order(mut self, direction: Direction, kind: V1Type, field: impl Into<String>) -> Self {
        self.order = Some((direction, kind, field.into()));
        self
    }

    /// The page number, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Users per page, 1 to 100.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page);
        self
    }

    /// The request for the page after `page` (this request's answer), or
    /// `None` when it was the last.
    pub fn next_page(&self, page: &PageV1) -> Option<ListUsers> {
        if !page.has_more() {
            return None;
        }
        let mut next = self.clone();
        next.page = Some(page.current_page.max(1).saturating_add(1).try_into().ok()?);
        Some(next)
    }

    fn query(&self) -> Result<Query, InvalidInput> {
        let mut q = Query::new();
        for f in &self.filters {
            f.validate()?;
        }
        q.push_list("filter", &[], self.filters.iter().map(V1Filter::to_text));
        if let Some((direction, kind, field)) = &self.order {
            if !is_field_name(field) {
                return Err(InvalidInput::new(
                    "order",
                    format!("{field:?} is not a field name"),
                ));
            }
            let dir = match direction {
                Direction::Ascending => "asc",
                Direction::Descending => "desc",
            };
            q.push("order", &format!("{dir} {kind} {field}"));
        }
        if let Some(page) = self.page {
            if page == 0 {
                return Err(InvalidInput::new("page", "pages are numbered from 1"));
            }
            q.push("page", &page.to_string());
        }
        if let Some(per_page) = self.per_page {
            if per_page == 0 || per_page > 100 {
                return Err(InvalidInput::new("per_page", "must be 1 to 100"));
            }
            q.push("per_page", &per_page.to_string());
        }
        Ok(q)
    }
}

impl Operation for ListUsers {
    type Output = PageV1;

    fn name(&self) -> &'static str {
        "list_users_v1"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let q = self.query()?;
        wire::empty(wire::request(ctx, Method::GET, "/users", q.as_option())?)
    }

    fn parse(&self, response: &Response) -> Result<PageV1, Error> {
        wire::json(response)
    }
}
