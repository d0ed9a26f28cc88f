//! Users by any number of ids: split into requests the server answers in
//! one page each, and put back in the order asked.

use super::{Field, SearchUsers, UserSearch};
use crate::error::Error;
use crate::model::{PageV2, User};
use std::collections::{HashMap, HashSet};

/// Most ids in one `id[in][]` request: the server's largest page, so that
/// every match of a request comes back in its one answer.
pub const MAX_IDS_PER_REQUEST: usize = 100;

/// The look-up of users by ids, without I/O: send every request of
/// [`requests`](Self::requests), hand each answer to
/// [`handle_page`](Self::handle_page), then take [`users`](Self::users).
/// Repeated ids are asked once; ids nobody has are left out.
///
/// ```
/// use cube_proto::{model::PageV2, search::UsersByIds};
/// let ids: Vec<u64> = (1..=250).rev().collect();
/// let mut lookup = UsersByIds::new(ids.clone());
/// let requests = lookup.requests()?;
/// assert_eq!(requests.len(), 3); // 100 + 100 + 50
/// for request in &requests {
///     // The server answers in its own order (here: ascending ids).
///     let mut asked: Vec<u64> = request.search().filters()[0].values.iter()
///         .map(|v| v.to_query_text().parse().unwrap()).collect();
///     asked.sort();
///     let items: Vec<_> = asked.iter().map(|id| serde_json::json!({"id": id})).collect();
///     let page: PageV2 = serde_json::from_value(serde_json::json!(
///         {"skip": 0, "limit": 100, "total_entries": items.len(), "items": items}))?;
///     lookup.handle_page(page);
/// }
/// let found: Vec<u64> = lookup.users().into_iter().map(|u| u.id).collect();
/// assert_eq!(found, ids);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct UsersByIds {
    ids: Vec<u64>,
    found: HashMap<u64, User>,
}

impl UsersByIds {
    /// The users with these ids, in this order (each id's first place).
    pub fn new(ids: impl IntoIterator<Item = u64>) -> Self {
        let mut seen = HashSet::new();
        let ids = ids.into_iter().filter(|id| seen.insert(*id)).collect();
        Self {
            ids,
            found: HashMap::new(),
        }
    }

    /// The distinct ids, in the order asked.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// One `id[in][]` search per [`MAX_IDS_PER_REQUEST`] ids, each asking for
    /// a page as large; none for no ids.
    pub fn requests(&self) -> Result<Vec<SearchUsers>, Error> {
        self.ids
            .chunks(MAX_IDS_PER_REQUEST)
            .map(|chunk| {
                let search = UserSearch::new()
                    .any_of(Field::Id, chunk.iter().copied())
                    .limit(MAX_IDS_PER_REQUEST as u32);
                Ok(search.build()?)
            })
            .collect()
    }

    /// Takes in the answer to one of the requests.
    pub fn handle_page(&mut self, page: PageV2) {
        for user in page.items {
            self.found.insert(user.id, user);
        }
    }

    /// The users found, in the order their ids were asked.
    pub fn users(mut self) -> Vec<User> {
        self.ids
            .iter()
            .filter_map(|id| self.found.remove(id))
            .collect()
    }
}
