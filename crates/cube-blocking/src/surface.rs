//! Every page of a search, as an iterator. The calls themselves are
//! written once, in `cube-shell`, and expanded next to the [`Client`].

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
    pub fn search_users_pages(&self, search: SearchUsers) -> UserPages<'_> {
        UserPages {
            client: self,
            pages: Pages::new(search),
        }
    }
}

/// The pages of a v2 search; see [`Client::search_users_pages`]. Stops
/// after the last page, or after the first error.
#[derive(Debug)]
pub struct UserPages<'a> {
    client: &'a Client,
    pages: Pages,
}

impl Iterator for UserPages<'_> {
    type Item = Result<PageV2, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let search = self.pages.next_search()?;
        Some(self.pages.handle(self.client.execute(search)))
    }
}
