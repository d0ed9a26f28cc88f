//! The page walk under an adapter's `UserPages`.

use crate::error::Error;
use proto::model::PageV2;
use proto::ops::SearchUsers;
use proto::search::Paginator;

/// Where a walk through the pages of a v2 search is: the search of the
/// next page, until the last page or the first error. An adapter's
/// `UserPages` runs each search it gives and hands the outcome back.
///
/// ```
/// use cube_shell::surface::Pages;
/// use cube_shell::proto::{model::PageV2, ops::SearchUsers};
/// let mut pages = Pages::new(SearchUsers::by_tags(["vip"])?);
/// let first = pages.next_search().expect("a first page");
/// let page: PageV2 = serde_json::from_str(
///     r#"{"skip": 0, "limit": 1, "total_entries": 2, "items": [{"id": 1}]}"#)?;
/// assert!(pages.handle(Ok(page)).is_ok());
/// assert_eq!(pages.next_search().unwrap().query(), "user_tags[in][]=vip&offset=1");
/// # let _ = first;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Pages {
    pages: Paginator,
    /// The search given out last, whose outcome is due.
    pending: Option<SearchUsers>,
    failed: bool,
}

impl Pages {
    /// A walk that starts with `search`.
    pub fn new(search: SearchUsers) -> Self {
        Self {
            pages: search.pages(),
            pending: None,
            failed: false,
        }
    }

    /// The search of the next page; `None` after the last page, or after
    /// an error.
    pub fn next_search(&mut self) -> Option<SearchUsers> {
        if self.failed {
            return None;
        }
        let search = self.pages.next_request()?;
        self.pending = Some(search.clone());
        Some(search)
    }

    /// Takes in the outcome of the search [`next_search`](Self::next_search)
    /// gave, and gives it back; an error ends the walk.
    pub fn handle(&mut self, outcome: Result<PageV2, Error>) -> Result<PageV2, Error> {
        match (&outcome, self.pending.take()) {
            (Ok(page), Some(search)) => self.pages.handle_page(&search, page),
            _ => self.failed = true,
        }
        outcome
    }
}
