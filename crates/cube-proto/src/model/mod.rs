//! What the server sends back: users and sessions.

mod de;
mod session;
mod user;

pub use session::SessionInfo;
pub use user::User;
