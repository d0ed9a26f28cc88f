//! Every page of a search, one `next().await` at a time. The calls
//! themselves are written once, in `cube-shell`, and expanded next to the
//! [`Client`].

use crate::client::Client;
use cube_shell::Error;
use cube_shell::surface::Pages;
use proto::model::PageV2;
use proto::ops::SearchUsers;

/// # Look-ups, every page
///
/// A v2 search walked page by page.
impl Client {
    /// Every page of a v2 search, fetched lazily, until `total_entries`.
    pub fn search_users_pages(&self, search: SearchUsers) -> UserPages {
        UserPages {
            client: self.clone(),
            pages: Pages::new(search),
        }
    }
}

/// The pages of a v2 search; see [`Client::search_users_pages`]. Call
/// [`UserPages::next`] until it gives `None`: after the last page, or after
/// the first error.
#[derive(Debug)]
pub struct UserPages {
    client: Client,
    pages: Pages,
}

impl UserPages {
    /// The next page, or `None` when there are no more.
    pub async fn next(&mut self) -> Option<Result<PageV2, Error>> {
        let search = self.pages.next_search()?;
        let page = self.client.execute(search).await;
        Some(self.pages.handle(page))
    }
}
