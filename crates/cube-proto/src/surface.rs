//! The calls every adapter offers, written once.
//!
//! `cube-blocking` and `cube-async` expand [`client_calls!`](crate::client_calls)
//! inside their `impl Client`, the async one with `async`/`.await`, so both
//! have the same methods, the same names and the same docs. Each method is a
//! one-liner over [`Operation`](crate::ops::Operation)s: what it sends and
//! what it means is decided here, in `cube-proto`.

/// Expands to the mission's calls inside an adapter's `impl Client`.
///
/// The adapter provides `execute(op)` (returning `Result<O::Output, $error>`),
/// `session_snapshot()`, `now()` and `config()`; pass `$error` and, for an async adapter, the
/// tokens `async` and `await`.
#[macro_export]
#[doc(hidden)]
macro_rules! client_calls {
    ($error:ty $(, $async:ident, $await:ident)?) => {
        // ---- the session, as the client sees it now

        /// The session's state now.
        pub fn session_status(&self) -> $crate::SessionStatus {
            self.session_snapshot().status(self.now())
        }

        /// Whether the session can be used now (live, outside the safety margin).
        pub fn is_session_valid(&self) -> bool {
            self.session_snapshot().is_valid(self.now())
        }

        /// When the token dies unless used again.
        pub fn session_expires_at(&self) -> Option<time::OffsetDateTime> {
            self.session_snapshot().expires_at()
        }

        /// The session token (for chat log-in, private file URLs).
        pub fn session_token(&self) -> Option<$crate::Secret> {
            self.session_snapshot().token().cloned()
        }

        /// The signed-in user's id.
        pub fn current_user_id(&self) -> Option<u64> {
            self.session_snapshot().user_id()
        }

        // ---- sessions

        /// Creates a session: an application session with
        /// [`Credentials::Application`](crate::Credentials), a
        /// user or guest session with the other kinds. It replaces the
        /// current session.
        pub $($async)? fn create_session(
            &self,
            credentials: $crate::Credentials,
        ) -> Result<$crate::SessionInfo, $error> {
            self.execute($crate::ops::CreateSession::new(credentials))$(.$await)?
        }

        /// Creates an application (read-only) session.
        pub $($async)? fn create_application_session(&self) -> Result<$crate::SessionInfo, $error> {
            self.execute($crate::ops::CreateSession::application())$(.$await)?
        }

        /// Signs in: upgrades the application session to a user session
        /// (one is created first when there is none). Any credential kind
        /// but application and guest.
        pub $($async)? fn sign_in(&self, credentials: $crate::Credentials) -> Result<$crate::User, $error> {
            self.execute($crate::ops::SignIn::new(credentials))$(.$await)?
        }

        /// Signs out: the user session becomes an application session.
        pub $($async)? fn sign_out(&self) -> Result<(), $error> {
            self.execute($crate::ops::SignOut)$(.$await)?
        }

        /// What the server knows about the current session.
        pub $($async)? fn session_info(&self) -> Result<$crate::SessionInfo, $error> {
            self.execute($crate::ops::GetSession)$(.$await)?
        }

        /// Destroys the current session; its token dies.
        pub $($async)? fn destroy_session(&self) -> Result<(), $error> {
            self.execute($crate::ops::DestroySession)$(.$await)?
        }

        /// Destroys another session of the same user, by id.
        pub $($async)? fn destroy_session_by_id(&self, session_id: u64) -> Result<(), $error> {
            self.execute($crate::ops::DestroySessionById::new(session_id))$(.$await)?
        }

        /// Destroys every session of the user but the current one.
        pub $($async)? fn destroy_other_sessions(&self) -> Result<(), $error> {
            self.execute($crate::ops::DestroyOtherSessions)$(.$await)?
        }

        // ---- users

        /// Signs a user up (under the session, or with the auth key when
        /// there is none). It does not sign them in.
        pub $($async)? fn sign_up(&self, user: $crate::ops::NewUser) -> Result<$crate::User, $error> {
            self.execute($crate::ops::SignUp::new(user))$(.$await)?
        }

        /// Updates the signed-in user's profile. Changing the password needs
        /// the old one; see [`change_password`](Self::change_password).
        pub $($async)? fn update_user(&self, update: $crate::ops::UserUpdate) -> Result<$crate::User, $error> {
            let op = $crate::ops::UpdateUser::for_session(&self.session_snapshot(), update)?;
            self.execute(op)$(.$await)?
        }

        /// Changes the signed-in user's password; every session stays valid.
        pub $($async)? fn change_password(
            &self,
            old_password: impl Into<$crate::Secret>,
            new_password: impl Into<$crate::Secret>,
        ) -> Result<$crate::User, $error> {
            let update = $crate::ops::UserUpdate::new()
                .old_password(old_password)
                .password(new_password);
            self.update_user(update)$(.$await)?
        }

        /// Deletes the signed-in user; the session ends with it.
        pub $($async)? fn delete_current_user(&self) -> Result<(), $error> {
            let op = $crate::ops::DeleteUser::for_session(&self.session_snapshot())?;
            self.execute(op)$(.$await)?
        }

        /// Deletes the signed-in user by their external id; the session ends.
        pub $($async)? fn delete_user_by_external_id(&self, external_id: &str) -> Result<(), $error> {
            let op = $crate::ops::DeleteUserByExternalId::new(external_id).map_err($crate::Error::from)?;
            self.execute(op)$(.$await)?
        }

        /// Asks the server to e-mail a password-reset link.
        pub $($async)? fn reset_password(&self, email: &str) -> Result<(), $error> {
            let op = $crate::ops::ResetPassword::new(email).map_err($crate::Error::from)?;
            self.execute(op)$(.$await)?
        }

        // ---- look-ups

        /// The user with this id, or `None`.
        pub $($async)? fn get_user(&self, id: u64) -> Result<Option<$crate::User>, $error> {
            self.execute($crate::ops::GetUser::by_id(id))$(.$await)?
        }

        /// The user with this login (case-sensitive), or `None`.
        pub $($async)? fn get_user_by_login(&self, login: &str) -> Result<Option<$crate::User>, $error> {
            self.execute($crate::ops::GetUser::by_login(login))$(.$await)?
        }

        /// The user with this e-mail (case-insensitive), or `None`.
        pub $($async)? fn get_user_by_email(&self, email: &str) -> Result<Option<$crate::User>, $error> {
            self.execute($crate::ops::GetUser::by_email(email))$(.$await)?
        }

        /// The user with this external id, or `None`.
        pub $($async)? fn get_user_by_external_id(&self, external_id: &str) -> Result<Option<$crate::User>, $error> {
            self.execute($crate::ops::GetUser::by_external_id(external_id))$(.$await)?
        }

        /// The user with this Facebook id, or `None`.
        pub $($async)? fn get_user_by_facebook_id(&self, facebook_id: &str) -> Result<Option<$crate::User>, $error> {
            self.execute($crate::ops::GetUser::by_facebook_id(facebook_id))$(.$await)?
        }

        /// The user with this Twitter id, or `None`.
        pub $($async)? fn get_user_by_twitter_id(&self, twitter_id: &str) -> Result<Option<$crate::User>, $error> {
            self.execute($crate::ops::GetUser::by_twitter_id(twitter_id))$(.$await)?
        }

        /// The users with these ids, any number of them, in the order asked:
        /// one request per 100 ids. Repeated ids come back once; ids nobody
        /// has are left out.
        pub $($async)? fn get_users_by_ids(
            &self,
            ids: impl IntoIterator<Item = u64>,
        ) -> Result<Vec<$crate::User>, $error> {
            let mut lookup = $crate::search::UsersByIds::new(ids);
            for op in lookup.requests()? {
                let page = self.execute(op)$(.$await)??;
                lookup.handle_page(page);
            }
            Ok(lookup.users())
        }

        /// The users whose full name starts with `prefix` (first v2 page;
        /// the server answers pages of 5), as the Flutter SDK's
        /// `getUsersByFullName`: `full_name[start_with]=`. A prefix under 4
        /// characters is looked up exactly (`full_name=`). An exact search of
        /// a longer name: `search_users(UserSearch::new().eq(Field::FullName, name).build()?)`.
        pub $($async)? fn find_users_by_full_name(&self, prefix: &str) -> Result<$crate::model::PageV2, $error> {
            let op = $crate::ops::SearchUsers::by_full_name(prefix)?;
            self.execute(op)$(.$await)?
        }

        /// The users with this phone number (first v2 page).
        pub $($async)? fn find_users_by_phone(&self, phone: &str) -> Result<$crate::model::PageV2, $error> {
            let op = $crate::ops::SearchUsers::by_phone(phone)?;
            self.execute(op)$(.$await)?
        }

        /// The users with any of these tags (first v2 page).
        pub $($async)? fn find_users_by_tags(
            &self,
            tags: impl IntoIterator<Item = impl Into<String>>,
        ) -> Result<$crate::model::PageV2, $error> {
            let op = $crate::ops::SearchUsers::by_tags(tags)?;
            self.execute(op)$(.$await)?
        }

        /// One page of a v2 search (build one with `cube_proto::search::UserSearch`).
        pub $($async)? fn search_users(&self, search: $crate::ops::SearchUsers) -> Result<$crate::model::PageV2, $error> {
            self.execute(search)$(.$await)?
        }

        /// One page of the deprecated v1 list.
        pub $($async)? fn list_users_v1(&self, list: $crate::ops::ListUsers) -> Result<$crate::model::PageV1, $error> {
            self.execute(list)$(.$await)?
        }

        // ---- paged look-ups (Flutter's paginator and sorter)

        /// One page of the users with these ids (at most 100 ids), with
        /// offset, limit and sort. For any number of ids in the order asked,
        /// see [`get_users_by_ids`](Self::get_users_by_ids).
        pub $($async)? fn get_users_by_ids_paged(
            &self,
            ids: impl IntoIterator<Item = u64>,
            paging: &$crate::search::Paging,
        ) -> Result<$crate::model::PageV2, $error> {
            let ids: Vec<u64> = ids.into_iter().collect();
            if ids.len() > $crate::search::MAX_IDS_PER_REQUEST {
                return Err($crate::Error::from($crate::error::InvalidInput::new(
                    "ids",
                    format!("{} ids; a page takes at most 100 (get_users_by_ids takes any number)", ids.len()),
                )).into());
            }
            let op = $crate::ops::SearchUsers::by_ids(ids)?.with_paging(paging)?;
            self.execute(op)$(.$await)?
        }

        /// One page of the users whose full name starts with `prefix` (see
        /// [`find_users_by_full_name`](Self::find_users_by_full_name)), with
        /// offset and sort; a prefix search keeps the server's pages of 5.
        pub $($async)? fn find_users_by_full_name_paged(
            &self,
            prefix: &str,
            paging: &$crate::search::Paging,
        ) -> Result<$crate::model::PageV2, $error> {
            let op = $crate::ops::SearchUsers::by_full_name(prefix)?.with_paging(paging)?;
            self.execute(op)$(.$await)?
        }

        /// One page of the users with this phone number, with offset, limit and sort.
        pub $($async)? fn find_users_by_phone_paged(
            &self,
            phone: &str,
            paging: &$crate::search::Paging,
        ) -> Result<$crate::model::PageV2, $error> {
            let op = $crate::ops::SearchUsers::by_phone(phone)?.with_paging(paging)?;
            self.execute(op)$(.$await)?
        }

        /// One page of the users with any of these tags, with offset, limit and sort.
        pub $($async)? fn find_users_by_tags_paged(
            &self,
            tags: impl IntoIterator<Item = impl Into<String>>,
            paging: &$crate::search::Paging,
        ) -> Result<$crate::model::PageV2, $error> {
            let op = $crate::ops::SearchUsers::by_tags(tags)?.with_paging(paging)?;
            self.execute(op)$(.$await)?
        }

        // ---- storage

        /// Creates a file record with its upload permission.
        pub $($async)? fn create_blob(&self, blob: $crate::ops::CreateBlob) -> Result<$crate::model::Blob, $error> {
            self.execute(blob)$(.$await)?
        }

        /// Uploads a file's bytes to its upload URL (no session involved).
        pub $($async)? fn upload(&self, upload: $crate::ops::Upload) -> Result<(), $error> {
            self.execute(upload)$(.$await)?
        }

        /// Declares a file uploaded, with its size in bytes.
        pub $($async)? fn complete_blob(&self, id: u64, size: u64) -> Result<(), $error> {
            self.execute($crate::ops::CompleteBlob::new(id, size))$(.$await)?
        }

        /// A file's record.
        pub $($async)? fn get_blob(&self, id: u64) -> Result<$crate::model::Blob, $error> {
            self.execute($crate::ops::GetBlob::new(id))$(.$await)?
        }

        /// Deletes a file.
        pub $($async)? fn delete_blob(&self, id: u64) -> Result<(), $error> {
            self.execute($crate::ops::DeleteBlob::new(id))$(.$await)?
        }

        /// Creates, uploads and completes a file: the first half of the
        /// avatar recipe. Returns the completed file's record.
        pub $($async)? fn upload_file(
            &self,
            blob: $crate::ops::CreateBlob,
            bytes: Vec<u8>,
        ) -> Result<$crate::model::Blob, $error> {
            let created = self.create_blob(blob)$(.$await)??;
            let size = bytes.len() as u64;
            let upload = $crate::ops::Upload::for_blob(&created, bytes).map_err($crate::Error::from)?;
            self.upload(upload)$(.$await)??;
            self.complete_blob(created.id, size)$(.$await)??;
            Ok(created)
        }

        /// The avatar recipe: uploads the image and makes its uid the signed-in
        /// user's `avatar`. Returns the file and the updated user.
        pub $($async)? fn set_avatar(
            &self,
            content_type: &str,
            file_name: &str,
            bytes: Vec<u8>,
        ) -> Result<($crate::model::Blob, $crate::User), $error> {
            let blob = $crate::ops::CreateBlob::new(content_type, file_name).map_err($crate::Error::from)?;
            let blob = self.upload_file(blob, bytes)$(.$await)??;
            let uid = blob.uid.clone().ok_or_else(|| {
                $crate::Error::from($crate::error::InvalidInput::new("uid", "the server gave the file no uid"))
            })?;
            let user = self.update_user($crate::ops::UserUpdate::new().avatar(uid))$(.$await)??;
            Ok((blob, user))
        }

        /// The private URL of a file, carrying this session's token (treat it
        /// as a secret); `None` when the session is not valid now (none,
        /// expired, or inside the safety margin), since such a URL would not
        /// open. A malformed uid is an error.
        pub fn blob_private_url(&self, uid: &str) -> Result<Option<String>, $error> {
            let session = self.session_snapshot();
            let token = match session.token() {
                Some(token) if session.is_valid(self.now()) => token,
                _ => return Ok(None),
            };
            Ok(Some($crate::ops::blob_private_url(self.config(), uid, token)?))
        }

        /// The public URL of a public file.
        pub fn blob_public_url(&self, uid: &str) -> Result<String, $error> {
            Ok($crate::ops::blob_public_url(self.config(), uid)?)
        }
    };
}

/// Expands to the settings every adapter's `ClientBuilder` offers.
///
/// The builder has the fields `config: cube_proto::config::ConfigBuilder`,
/// `timeout: std::time::Duration`, `roots: Roots`, `extra_roots:
/// Vec<Vec<u8>>`, `clock: Arc<dyn Clock>`, `margin: time::Duration`,
/// `start: cube_proto::snapshot::SessionStart` and `listener:
/// Option<Arc<cube_proto::SessionListener>>`, with `Roots` the adapter's own
/// choice of trust store.
#[macro_export]
#[doc(hidden)]
macro_rules! client_builder_settings {
    () => {
        /// Signs session requests with the application's auth secret.
        pub fn auth_secret(mut self, secret: impl Into<$crate::Secret>) -> Self {
            self.config = self.config.auth_secret(secret);
            self
        }

        /// HMAC-SHA1 (default) or HMAC-SHA256 signatures.
        pub fn signature_algorithm(mut self, algorithm: $crate::SignatureAlgorithm) -> Self {
            self.config = self.config.signature_algorithm(algorithm);
            self
        }

        /// The API endpoint (default: the production service).
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.config = self.config.base_url(url);
            self
        }

        /// Overrides the `CB-SDK` header.
        pub fn sdk_identity(mut self, identity: impl Into<String>) -> Self {
            self.config = self.config.sdk_identity(identity);
            self
        }

        /// The longest an API call may take, connection included (default
        /// 30 s). Uploads and downloads are not bounded by it: they fail only
        /// after an idle timeout without a byte moving (their options'
        /// `idle_timeout`, 30 s by default).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.timeout = timeout;
            self
        }

        /// Which certificate authorities to trust (default: webpki).
        pub fn roots(mut self, roots: Roots) -> Self {
            self.roots = roots;
            self
        }

        /// Trusts one more DER certificate on top of the roots.
        pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
            self.extra_roots.push(der.into());
            self
        }

        /// The clock for expiry and signatures (default: the system clock).
        pub fn clock(mut self, clock: impl $crate::Clock) -> Self {
            self.clock = std::sync::Arc::new(clock);
            self
        }

        /// How close to its deadline a session stops counting as valid.
        pub fn session_margin(mut self, margin: time::Duration) -> Self {
            self.margin = margin;
            self
        }

        /// Starts the client where a saved session left off (see
        /// `export_session`): no session request is made while it is valid.
        /// A snapshot past its deadline starts expired, so the restore
        /// callback runs at the first call; one of another application or
        /// base URL makes `build` fail with
        /// [`Error::ForeignSnapshot`](proto::Error::ForeignSnapshot).
        pub fn resume_session(mut self, snapshot: $crate::SessionSnapshot) -> Self {
            self.start = $crate::snapshot::SessionStart::Snapshot(snapshot);
            self
        }

        /// Starts the client with a token minted elsewhere (the app's
        /// backend, another client). Without a deadline, the first response
        /// sets it.
        pub fn adopt_session(mut self, token: $crate::IssuedToken) -> Self {
            self.start = $crate::snapshot::SessionStart::Token(token);
            self
        }

        /// Called after every change of the session — created, upgraded,
        /// downgraded, restored, expired, destroyed, adopted, resumed — with
        /// the snapshot after it, once per change and in order, outside the
        /// client's locks. What the client is built with is not a change.
        pub fn on_session_change(
            mut self,
            listener: impl Fn(&$crate::SessionEvent) + Send + Sync + 'static,
        ) -> Self {
            self.listener = Some(std::sync::Arc::new(listener));
            self
        }
    };
}
