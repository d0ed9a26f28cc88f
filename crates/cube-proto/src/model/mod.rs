//! What the server sends back: users, sessions, pages of users, blobs.

mod blob;
mod de;
mod page;
mod session;
mod user;

pub use blob::{Blob, BlobObjectAccess};
pub use page::{PageV1, PageV2};
pub use session::SessionInfo;
pub use user::User;
