//! `GET /users/v2`: a typed filter builder that refuses, before any request
//! exists, every combination the server would reject, and a sans-IO
//! paginator. The deprecated v1 list (`GET /users`, [`ListUsers`] with its
//! [`V1Filter`]s) lives here too.
//!
//! The rules (`docs/PROTOCOL.md`, "Search"), each a [`Rule`]:
//! * at least one stand-alone field (`id`, `login`, `email`, `full_name`,
//!   `phone`, `external_id`, `facebook_id`, `twitter_id`, `user_tags`) with a
//!   primary operator (`eq`, `in`, `start_with`);
//! * stand-alone fields never take compare operators (`gt`, `lt`, `gte`,
//!   `lte`); the dates (`last_request_at`, `created_at`, `updated_at`) take
//!   only those and `eq` — a date's `eq` narrows a search beside a
//!   stand-alone primary (`phone=…&last_request_at=…`), and never is that
//!   primary itself;
//! * `start_with` needs at least 4 characters, and with it the server serves
//!   pages of 5 (the search then asks for `limit=5` itself);
//! * `id` takes integers, dates take dates (sent as unix seconds), the rest
//!   text; `in`/`nin` take one or more values, the others exactly one; a
//!   field takes each operator once; `limit` is 1 to 100.
//!
//! ```
//! use cube_proto::search::{Field, Rule, UserSearch};
//! use time::macros::datetime;
//!
//! let op = UserSearch::new()
//!     .any_of(Field::Id, [1u64, 2])
//!     .none_of(Field::UserTags, ["banned"])
//!     .gte(Field::CreatedAt, datetime!(2026-01-01 0:00 UTC))
//!     .sort_desc(Field::CreatedAt)
//!     .limit(50)
//!     .build()?;
//! assert_eq!(
//!     op.query(),
//!     "id[in][]=1&id[in][]=2&user_tags[nin][]=banned&created_at[gte]=1767225600\
//!      &sort_desc=created_at&limit=50"
//! );
//!
//! // A date may be matched exactly beside a stand-alone primary filter…
//! let op = UserSearch::new()
//!     .eq(Field::Phone, "+6110797757")
//!     .eq(Field::LastRequestAt, datetime!(2020-11-09 8:21:41 UTC))
//!     .build()?;
//! assert_eq!(op.query(), "phone=%2B6110797757&last_request_at=1604910101");
//!
//! // …but dates alone are not enough: the server wants a stand-alone primary
//! // filter, and a date's `eq` is not one.
//! let err = UserSearch::new().gt(Field::CreatedAt, datetime!(2026-01-01 0:00 UTC)).build();
//! assert_eq!(err.unwrap_err().rule, Rule::StandAlonePrimaryRequired);
//! let err = UserSearch::new().eq(Field::CreatedAt, datetime!(2026-01-01 0:00 UTC)).build();
//! assert_eq!(err.unwrap_err().rule, Rule::StandAlonePrimaryRequired);
//! # Ok::<(), cube_proto::search::SearchError>(())
//! ```

mod filter;
mod ids;
mod paging;
mod v1;

pub use filter::{
    Field, Filter, MAX_LIMIT, Operator, Rule, START_WITH_LIMIT, START_WITH_MIN_CHARS, SearchError,
    Value, ValueType,
};

pub use ids::{MAX_IDS_PER_REQUEST, UsersByIds};
pub use paging::Paging;
pub use v1::{ListUsers, V1Filter, V1Operator, V1Type};

use crate::error::Error;
use crate::model::{PageV2, User};
use crate::ops::{Access, Operation};
use crate::query::Query;
use crate::wire::{self, Request, RequestContext, Response};
use http::Method;

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `sort_asc=FIELD`.
    Ascending,
    /// `sort_desc=FIELD`.
    Descending,
}

/// A set of v2 conditions, sort and page, not yet checked. Every method
/// chains; [`UserSearch::build`] checks the whole and gives the operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    filters: Vec<Filter>,
    sort: Option<(Direction, Field)>,
    offset: Option<u64>,
    limit: Option<u32>,
}

impl UserSearch {
    /// No conditions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds any condition.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// `field=value`. On a stand-alone field it is a primary filter; on a
    /// date it only narrows a search that has one.
    pub fn eq(self, field: Field, value: impl Into<Value>) -> Self {
        self.filter(Filter::new(field, Operator::Eq, [value]))
    }

    /// `field[in][]=v…`: any of the values.
    pub fn any_of<I, V>(self, field: Field, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.filter(Filter::new(field, Operator::In, values))
    }

    /// `field[start_with]=prefix` (at least 4 characters; pages of 5).
    pub fn start_with(self, field: Field, prefix: impl Into<String>) -> Self {
        self.filter(Filter::new(field, Operator::StartWith, [prefix.into()]))
    }

    /// `field[nin][]=v…`: none of the values.
    pub fn none_of<I, V>(self, field: Field, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.filter(Filter::new(field, Operator::Nin, values))
    }

    /// `field[gt]=value`.
    pub fn gt(self, field: Field, value: impl Into<Value>) -> Self {
        self.filter(Filter::new(field, Operator::Gt, [value]))
    }

    /// `field[lt]=value`.
    pub fn lt(self, field: Field, value: impl Into<Value>) -> Self {
        self.filter(Filter::new(field, Operator::Lt, [value]))
    }

    /// `field[gte]=value`.
    pub fn gte(self, field: Field, value: impl Into<Value>) -> Self {
        self.filter(Filter::new(field, Operator::Gte, [value]))
    }

    /// `field[lte]=value`.
    pub fn lte(self, field: Field, value: impl Into<Value>) -> Self {
        self.filter(Filter::new(field, Operator::Lte, [value]))
    }

    /// Sorts by `field`, ascending or descending (one sort; the last wins).
    pub fn sort(mut self, direction: Direction, field: Field) -> Self {
        self.sort = Some((direction, field));
        self
    }

    /// `sort_asc=field`.
    pub fn sort_asc(self, field: Field) -> Self {
        self.sort(Direction::Ascending, field)
    }

    /// `sort_desc=field`.
    pub fn sort_desc(self, field: Field) -> Self {
        self.sort(Direction::Descending, field)
    }

    /// Skips the first `offset` matches.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// At most `limit` users per page (1 to 100; the server's default is 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The conditions so far.
    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// Checks every rule; the first one broken is named.
    pub fn validate(&self) -> Result<(), SearchError> {
        filter::check_all(&self.filters, self.limit)
    }

    /// Checks the search and gives the `GET /users/v2` operation. With a
    /// `start_with` condition the limit becomes 5, as the server's.
    pub fn build(self) -> Result<SearchUsers, SearchError> {
        self.validate()?;
        let mut search = self;
        if search.filters.iter().any(|f| f.op == Operator::StartWith) {
            search.limit = Some(START_WITH_LIMIT);
        }
        Ok(SearchUsers { search })
    }
}

/// `GET /users/v2`: one page of users matching a checked [`UserSearch`].
///
/// Runs under any session (`Access::Read`). Its answer is a [`PageV2`];
/// [`SearchUsers::next_page`] gives the request for the page after it.
///
/// ```
/// use cube_proto::search::{Field, SearchUsers, UserSearch};
/// use cube_proto::ops::Operation;
/// use cube_proto::{Config, wire::RequestContext};
///
/// let config = Config::builder(1, "key").build()?;
/// let ctx = RequestContext { config: &config, token: None,
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = SearchUsers::by_full_name("Zoë Kail")?;
/// let request = op.build(&ctx)?;
/// assert_eq!(request.uri(),
///     "https://api.connectycube.com/users/v2?full_name[start_with]=Zo%C3%AB%20Kail&limit=5");
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchUsers {
    search: UserSearch,
}

impl SearchUsers {
    /// Users with any of these ids (`id[in][]`).
    pub fn by_ids(ids: impl IntoIterator<Item = u64>) -> Result<Self, Error> {
        Ok(UserSearch::new().any_of(Field::Id, ids).build()?)
    }

    /// Users whose full name starts with `prefix`, as the Flutter SDK's
    /// `getUsersByFullName` finds them: `full_name[start_with]=prefix`,
    /// answered in pages of 5. A prefix under 4 characters (the server's
    /// minimum for `start_with`) is looked up exactly, `full_name=prefix`.
    /// For an exact look-up of a longer name, use
    /// `UserSearch::new().eq(Field::FullName, name)`.
    ///
    /// ```
    /// use cube_proto::search::SearchUsers;
    /// assert_eq!(SearchUsers::by_full_name("Dacia K")?.query(),
    ///     "full_name[start_with]=Dacia%20K&limit=5");
    /// assert_eq!(SearchUsers::by_full_name("Bo")?.query(), "full_name=Bo");
    /// # Ok::<(), cube_proto::Error>(())
    /// ```
    pub fn by_full_name(prefix: &str) -> Result<Self, Error> {
        let search = if prefix.chars().count() >= START_WITH_MIN_CHARS {
            UserSearch::new().start_with(Field::FullName, prefix)
        } else {
            UserSearch::new().eq(Field::FullName, prefix)
        };
        Ok(search.build()?)
    }

    /// Users with this phone number (`phone=`).
    pub fn by_phone(phone: &str) -> Result<Self, Error> {
        Ok(UserSearch::new().eq(Field::Phone, phone).build()?)
    }

    /// Users with any of these tags (`user_tags[in][]`).
    pub fn by_tags<I, S>(tags: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        Ok(UserSearch::new().any_of(Field::UserTags, tags).build()?)
    }

    /// This search with other paging and sort: offset, limit (1 to 100;
    /// a `start_with` search keeps the server's 5) and sort field and
    /// direction, each only when `paging` sets it.
    ///
    /// ```
    /// use cube_proto::search::{Field, Paging, SearchUsers};
    /// let op = SearchUsers::by_tags(["vip"])?
    ///     .with_paging(&Paging::new().offset(20).limit(10).sort_desc(Field::CreatedAt))?;
    /// assert_eq!(op.query(), "user_tags[in][]=vip&sort_desc=created_at&offset=20&limit=10");
    /// # Ok::<(), cube_proto::Error>(())
    /// ```
    pub fn with_paging(self, paging: &Paging) -> Result<Self, Error> {
        let mut search = self.search;
        if let Some(offset) = paging.offset {
            search.offset = Some(offset);
        }
        if let Some(limit) = paging.limit {
            search.limit = Some(limit);
        }
        if let Some((direction, field)) = paging.sort {
            search.sort = Some((direction, field));
        }
        Ok(search.build()?)
    }

    /// The checked search.
    pub fn search(&self) -> &UserSearch {
        &self.search
    }

    /// The offset this page starts at.
    pub fn current_offset(&self) -> u64 {
        self.search.offset.unwrap_or(0)
    }

    /// The encoded query string: conditions in the order they were added,
    /// then sort, offset and limit.
    pub fn query(&self) -> String {
        let mut q = Query::new();
        for f in &self.search.filters {
            let values = f.values.iter().map(Value::to_query_text);
            let name = f.field.name();
            match f.op {
                Operator::Eq => {
                    for v in values {
                        q.push(name, &v);
                    }
                }
                Operator::In | Operator::Nin => {
                    q.push_list(name, &[f.op.name()], values);
                }
                op => {
                    for v in values {
                        q.push_nested(name, &[op.name()], &v);
                    }
                }
            }
        }
        if let Some((direction, field)) = self.search.sort {
            let key = match direction {
                Direction::Ascending => "sort_asc",
                Direction::Descending => "sort_desc",
            };
            q.push(key, field.name());
        }
        if let Some(offset) = self.search.offset {
            q.push("offset", &offset.to_string());
        }
        if let Some(limit) = self.search.limit {
            q.push("limit", &limit.to_string());
        }
        q.as_str().to_owned()
    }

    /// The request for the page after `page` (the answer to this one), or
    /// `None` once `total_entries` is reached or a page comes back empty.
    ///
    /// ```
    /// use cube_proto::{model::PageV2, search::SearchUsers};
    /// let first = SearchUsers::by_tags(["vip"])?;
    /// let page: PageV2 = serde_json::from_str(
    ///     r#"{"skip": 0, "limit": 2, "total_entries": 3, "items": [{"id": 1}, {"id": 2}]}"#)?;
    /// let second = first.next_page(&page).expect("one more page");
    /// assert_eq!(second.query(), "user_tags[in][]=vip&offset=2");
    /// let last: PageV2 = serde_json::from_str(
    ///     r#"{"skip": 2, "limit": 2, "total_entries": 3, "items": [{"id": 3}]}"#)?;
    /// assert!(second.next_page(&last).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_page(&self, page: &PageV2) -> Option<SearchUsers> {
        let next = self
            .current_offset()
            .saturating_add(page.items.len() as u64);
        if page.items.is_empty() || next >= page.total_entries {
            return None;
        }
        let mut search = self.search.clone();
        search.offset = Some(next);
        Some(SearchUsers { search })
    }

    /// A paginator starting with this request.
    pub fn pages(self) -> Paginator {
        Paginator {
            next: Some(self),
            seen: 0,
        }
    }
}

impl Operation for SearchUsers {
    type Output = PageV2;

    fn name(&self) -> &'static str {
        "search_users"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let query = self.query();
        wire::bodiless(ctx, Method::GET, "/users/v2", Some(query.as_str()))
    }

    fn parse(&self, response: &Response) -> Result<PageV2, Error> {
        wire::json(response)
    }
}

/// Walks every page of a search without doing I/O: take the next request,
/// send it, hand the page back, until [`Paginator::next_request`] says
/// `None`.
///
/// ```
/// use cube_proto::{model::PageV2, search::SearchUsers};
/// let mut pages = SearchUsers::by_ids([1, 2, 3])?.pages();
/// let mut seen = Vec::new();
/// let answers = [
///     r#"{"skip": 0, "limit": 2, "total_entries": 3, "items": [{"id": 1}, {"id": 2}]}"#,
///     r#"{"skip": 2, "limit": 2, "total_entries": 3, "items": [{"id": 3}]}"#,
/// ];
/// let mut answers = answers.iter();
/// while let Some(op) = pages.next_request() {
///     // An adapter sends `op` here; the answer is:
///     let page: PageV2 = serde_json::from_str(answers.next().unwrap())?;
///     seen.extend(page.items.iter().map(|u| u.id));
///     pages.handle_page(&op, &page);
/// }
/// assert_eq!(seen, [1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Paginator {
    next: Option<SearchUsers>,
    seen: u64,
}

impl Paginator {
    /// The request to send next, or `None` when every page has been seen.
    pub fn next_request(&self) -> Option<SearchUsers> {
        self.next.clone()
    }

    /// Takes in the answer to `request` and works out the next request.
    pub fn handle_page(&mut self, request: &SearchUsers, page: &PageV2) {
        self.seen = self.seen.saturating_add(page.items.len() as u64);
        self.next = request.next_page(page);
    }

    /// How many users the pages handed in so far held.
    pub fn users_seen(&self) -> u64 {
        self.seen
    }
}

/// A single-user look-up: one exact value of a unique field, through
/// `GET /users/v2`. Finding nobody is `Ok(None)`, not an error.
///
/// ```
/// use cube_proto::search::GetUser;
/// use cube_proto::ops::Operation;
/// use cube_proto::{Config, wire::RequestContext};
/// let config = Config::builder(1, "key").build()?;
/// let ctx = RequestContext { config: &config, token: None,
///     now: time::OffsetDateTime::UNIX_EPOCH, nonce: 0 };
/// let op = GetUser::by_login("dacia");
/// assert_eq!(op.build(&ctx)?.uri(), "https://api.connectycube.com/users/v2?login=dacia&limit=1");
/// let nobody = http::Response::new(br#"{"skip":0,"limit":1,"total_entries":0,"items":[]}"#.to_vec());
/// assert_eq!(op.parse(&nobody)?, None);
/// # Ok::<(), cube_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUser {
    field: Field,
    value: Value,
}

impl GetUser {
    fn new(field: Field, value: Value) -> Self {
        Self { field, value }
    }

    /// By id (`id=`).
    pub fn by_id(id: u64) -> Self {
        Self::new(Field::Id, Value::Integer(id))
    }

    /// By login (`login=`), case-sensitive.
    pub fn by_login(login: impl Into<String>) -> Self {
        Self::new(Field::Login, Value::Text(login.into()))
    }

    /// By e-mail (`email=`), case-insensitive on the server.
    pub fn by_email(email: impl Into<String>) -> Self {
        Self::new(Field::Email, Value::Text(email.into()))
    }

    /// By external id (`external_id=`).
    pub fn by_external_id(external_id: impl Into<String>) -> Self {
        Self::new(Field::ExternalId, Value::Text(external_id.into()))
    }

    /// By Facebook id (`facebook_id=`).
    pub fn by_facebook_id(facebook_id: impl Into<String>) -> Self {
        Self::new(Field::FacebookId, Value::Text(facebook_id.into()))
    }

    /// By Twitter id (`twitter_id=`).
    pub fn by_twitter_id(twitter_id: impl Into<String>) -> Self {
        Self::new(Field::TwitterId, Value::Text(twitter_id.into()))
    }

    /// The search this look-up runs: `field=value&limit=1`.
    pub fn as_search(&self) -> Result<SearchUsers, SearchError> {
        UserSearch::new()
            .eq(self.field, self.value.clone())
            .limit(1)
            .build()
    }
}

impl Operation for GetUser {
    type Output = Option<User>;

    fn name(&self) -> &'static str {
        "get_user"
    }

    fn access(&self) -> Access {
        Access::Read
    }

    /// The request of [`as_search`](Self::as_search), byte for byte (a
    /// property test holds the two together), written straight out: a
    /// look-up is the most frequent call there is.
    fn build(&self, ctx: &RequestContext<'_>) -> Result<Request, Error> {
        let value = match &self.value {
            // The one value the search refuses: left to the search, whose
            // error it is.
            Value::Text(text) if text.is_empty() => return self.as_search()?.build(ctx),
            Value::Text(text) => crate::query::encode(text),
            other => other.to_query_text(),
        };
        // The look-up fields' names need no encoding.
        let name = self.field.name();
        let mut query = String::with_capacity(name.len() + value.len() + 10);
        query.push_str(name);
        query.push('=');
        query.push_str(&value);
        query.push_str("&limit=1");
        wire::bodiless(ctx, Method::GET, "/users/v2", Some(&query))
    }

    fn parse(&self, response: &Response) -> Result<Option<User>, Error> {
        let page: PageV2 = wire::json(response)?;
        Ok(page.items.into_iter().next())
    }
}
