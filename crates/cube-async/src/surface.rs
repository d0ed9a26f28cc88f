//! One method per mission call; the list itself lives in cube-proto, so the
//! blocking and async clients offer exactly the same calls, in the same
//! groups.

use crate::client::Client;
use crate::error::Error;
use proto::model::PageV2;
use proto::ops::SearchUsers;
use proto::search::Paginator;

proto::client_calls!(Client, Error, async);

/// # Look-ups, every page
///
/// A v2 search walked page by page.
impl Client {
    /// Every page of a v2 search, fetched lazily, until `total_entries`.
    pub fn search_users_pages(&self, search: SearchUsers) -> UserPages {
        UserPages {
            client: self.clone(),
            pages: search.pages(),
            failed: false,
        }
    }
}

/// The pages of a v2 search; see [`Client::search_users_pages`]. Call
/// [`UserPages::next`] until it gives `None`: after the last page, or after
/// the first error.
#[derive(Debug)]
pub struct UserPages {
    client: Client,
    pages: Paginator,
    failed: bool,
}

impl UserPages {
    /// The next page, or `None` when there are no more.
    pub async fn next(&mut self) -> Option<Result<PageV2, Error>> {
        if self.failed {
            return None;
        }
        let request = self.pages.next_request()?;
        match self.client.execute(request.clone()).await {
            Ok(page) => {
                self.pages.handle_page(&request, &page);
                Some(Ok(page))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
