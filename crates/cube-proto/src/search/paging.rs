//! Paging and sort for the look-ups, as the Flutter SDK's paginator and
//! sorter give them: which page, how big, in which order.

use super::{Direction, Field};

/// Offset, page size and sort of a look-up; whatever is left unset keeps
/// the server's default (offset 0, 100 users a page, the server's order).
/// Checked when applied ([`SearchUsers::with_paging`](super::SearchUsers::with_paging)):
/// a limit must be 1 to 100.
///
/// ```
/// use cube_proto::search::{Field, Paging};
/// // Flutter: RequestPaginator(20, page: 3) and RequestSorter.desc("created_at").
/// let paging = Paging::page(3, 20).sort_desc(Field::CreatedAt);
/// assert_eq!(paging, Paging::new().offset(40).limit(20).sort_desc(Field::CreatedAt));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paging {
    pub(crate) offset: Option<u64>,
    pub(crate) limit: Option<u32>,
    pub(crate) sort: Option<(Direction, Field)>,
}

impl Paging {
    /// The server's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Page `number` (the first is 1; 0 counts as 1) of `per_page` users.
    pub fn page(number: u64, per_page: u32) -> Self {
        let skipped = number.saturating_sub(1).saturating_mul(u64::from(per_page));
        Self::new().offset(skipped).limit(per_page)
    }

    /// Skips the first `offset` matches.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// At most `limit` users (1 to 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sorts by `field`.
    pub fn sort(mut self, direction: Direction, field: Field) -> Self {
        self.sort = Some((direction, field));
        self
    }

    /// Sorts by `field`, smallest first.
    pub fn sort_asc(self, field: Field) -> Self {
        self.sort(Direction::Ascending, field)
    }

    /// Sorts by `field`, largest first.
    pub fn sort_desc(self, field: Field) -> Self {
        self.sort(Direction::Descending, field)
    }
}
