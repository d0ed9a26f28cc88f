//! [`client_calls!`](crate::client_calls): the calls of every adapter's
//! client, in topical groups.

/// Expands, next to an adapter's `Client`, to its calls: one `impl` block
/// per group (the client itself, sessions, users, look-ups, storage), each
/// with its own heading in rustdoc, and the client's
/// [`ClientCore`](crate::surface::ClientCore). The client is a struct with
/// a field `shell: Arc<Shell<A>>` and implements
/// [`Execute`](crate::surface::Execute)
/// (`client_calls!(cube_blocking, Client, ClientBuilder, Blocking);`) or
/// [`ExecuteAsync`](crate::surface::ExecuteAsync)
/// (`client_calls!(cube_async, Client, ClientBuilder, Tokio, async);`); the
/// crate's name is for the examples in the docs.
#[macro_export]
#[doc(hidden)]
macro_rules! client_calls {
    (@client $krate:ident, $client:ident, $builder:ident, $adapter:ty) => {
        impl $crate::surface::ClientCore for $client {
            type Adapter = $adapter;

            fn shell(&self) -> &$crate::Shell<$adapter> {
                &self.shell
            }
        }

        /// # The client
        ///
        /// Building one, its configuration and clock, and the session it holds:
        /// read, saved, resumed, adopted, forgotten.
        impl $client {
            /// Starts configuring a client for an application.
            pub fn builder(
                application_id: u64,
                auth_key: impl ::core::convert::Into<::std::string::String>,
            ) -> $builder {
                $builder::new($crate::proto::Config::builder(application_id, auth_key))
            }

            /// Starts configuring a client with no auth key: it works with a token
            /// minted elsewhere ([`adopt_session`](Self::adopt_session)), a saved
            /// session ([`resume_session`](Self::resume_session)) or the ready
            /// sessions its restore callback hands over. A call that would need a
            /// new session otherwise fails with the protocol error `NoAuthKey`.
            pub fn builder_without_auth_key(application_id: u64) -> $builder {
                $builder::new($crate::proto::Config::builder_without_auth_key(application_id))
            }

            /// A client of the application that uses `token`, minted elsewhere (the
            /// app's backend, for instance), and has no auth key.
            ///
            /// ```
            #[doc = ::core::concat!("use ", ::core::stringify!($krate), "::{", ::core::stringify!($client), ", IssuedToken};")]
            #[doc = ::core::concat!("let client = ", ::core::stringify!($client), "::with_token(1, IssuedToken::new(\"token-from-my-backend\").user(81))")]
            ///     .base_url("http://127.0.0.1:8080")
            ///     .build()?;
            /// assert_eq!(client.current_user_id(), Some(81));
            #[doc = ::core::concat!("# Ok::<(), ", ::core::stringify!($krate), "::Error>(())")]
            /// ```
            pub fn with_token(application_id: u64, token: $crate::proto::IssuedToken) -> $builder {
                Self::builder_without_auth_key(application_id).adopt_session(token)
            }

            /// The configuration.
            pub fn config(&self) -> &$crate::proto::Config {
                self.shell.config()
            }

            /// The current time by the client's clock.
            pub fn now(&self) -> $crate::proto::time::OffsetDateTime {
                self.shell.now()
            }

            /// Reads the session state machine under its lock, without
            /// copying it: `client.with_session(|s| s.generation())`. The
            /// lock is held while `read` runs: keep it short, and do not call
            /// the client from it.
            pub fn with_session<R>(&self, read: impl ::core::ops::FnOnce(&$crate::proto::Session) -> R) -> R {
                self.shell.with_session(read)
            }

            /// A copy of the whole session state machine (event queue
            /// included); to read one thing of it, [`with_session`](Self::with_session)
            /// copies nothing.
            pub fn session_state(&self) -> $crate::proto::Session {
                self.shell.session_state()
            }

            /// The session as a snapshot to save (a file, the keychain) and resume
            /// later, in this process or another; `None` when there is none. It holds
            /// the token: store it as a secret.
            pub fn export_session(&self) -> ::core::option::Option<$crate::proto::SessionSnapshot> {
                self.shell.export_session()
            }

            /// Replaces the session with a saved one (event `Resumed`). A snapshot
            /// of another application or base URL is refused and changes nothing.
            pub fn resume_session(
                &self,
                snapshot: $crate::proto::SessionSnapshot,
            ) -> ::core::result::Result<(), $crate::Error> {
                self.shell.resume_session(snapshot)
            }

            /// Replaces the session with a token minted elsewhere (event `Adopted`).
            pub fn adopt_session(
                &self,
                token: $crate::proto::IssuedToken,
            ) -> ::core::result::Result<(), $crate::Error> {
                self.shell.adopt_session(token)
            }

            /// Forgets the session locally, without telling the server (event
            /// `Destroyed`).
            pub fn forget_session(&self) {
                self.shell.forget_session();
            }
        }
    };
    (@groups $client:ty, $hooks:path $(, $async:ident, $await:ident)?) => {
        // A client without the hooks fails here, once, naming the trait it
        // lacks.
        const _: () = {
            fn hooks<C: $hooks>() {}
            let _ = hooks::<$client>;
        };

        /// # Sessions
        ///
        /// The session as the client holds it now, and the calls that create,
        /// upgrade, downgrade and end sessions on the server.
        impl $client {
            /// The session's state now.
            pub fn session_status(&self) -> $crate::proto::SessionStatus {
                let shell = <Self as $crate::surface::ClientCore>::shell(self);
                let now = shell.now();
                shell.with_session(|s| s.status(now))
            }

            /// Whether the session can be used now (live, outside the safety margin).
            pub fn is_session_valid(&self) -> bool {
                let shell = <Self as $crate::surface::ClientCore>::shell(self);
                let now = shell.now();
                shell.with_session(|s| s.is_valid(now))
            }

            /// When the token dies unless used again.
            pub fn session_expires_at(&self) -> ::core::option::Option<$crate::proto::time::OffsetDateTime> {
                <Self as $crate::surface::ClientCore>::shell(self).with_session(|s| s.expires_at())
            }

            /// The session token (for chat log-in, private file URLs).
            pub fn session_token(&self) -> ::core::option::Option<$crate::proto::Secret> {
                <Self as $crate::surface::ClientCore>::shell(self).token()
            }

            /// The signed-in user's id.
            pub fn current_user_id(&self) -> ::core::option::Option<u64> {
                <Self as $crate::surface::ClientCore>::shell(self).with_session(|s| s.user_id())
            }

            /// Creates a session: an application session with
            /// `Credentials::Application`, a user or guest session with the
            /// other kinds. It replaces the current session.
            pub $($async)? fn create_session(
                &self,
                credentials: $crate::proto::Credentials,
            ) -> ::core::result::Result<$crate::proto::SessionInfo, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::CreateSession::new(credentials))$(.$await)?
            }

            /// Creates an application (read-only) session.
            pub $($async)? fn create_application_session(
                &self,
            ) -> ::core::result::Result<$crate::proto::SessionInfo, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::CreateSession::application())$(.$await)?
            }

            /// Signs in: upgrades the application session to a user session
            /// (one is created first when there is none). Any credential kind
            /// but application and guest.
            pub $($async)? fn sign_in(
                &self,
                credentials: $crate::proto::Credentials,
            ) -> ::core::result::Result<$crate::proto::User, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::SignIn::new(credentials))$(.$await)?
            }

            /// Signs out: the user session becomes an application session.
            pub $($async)? fn sign_out(&self) -> ::core::result::Result<(), $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::SignOut)$(.$await)?
            }

            /// What the server knows about the current session.
            pub $($async)? fn session_info(&self) -> ::core::result::Result<$crate::proto::SessionInfo, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetSession)$(.$await)?
            }

            /// Destroys the current session; its token dies.
            pub $($async)? fn destroy_session(&self) -> ::core::result::Result<(), $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::DestroySession)$(.$await)?
            }

            /// Destroys another session of the same user, by id.
            pub $($async)? fn destroy_session_by_id(
                &self,
                session_id: u64,
            ) -> ::core::result::Result<(), $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::DestroySessionById::new(session_id))$(.$await)?
            }

            /// Destroys every session of the user but the current one.
            pub $($async)? fn destroy_other_sessions(&self) -> ::core::result::Result<(), $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::DestroyOtherSessions)$(.$await)?
            }
        }

        /// # Users
        ///
        /// Signing up, and the signed-in user's own profile, password and account.
        impl $client {
            /// Signs a user up (under the session, or with the auth key when
            /// there is none). It does not sign them in.
            pub $($async)? fn sign_up(
                &self,
                user: $crate::proto::ops::NewUser,
            ) -> ::core::result::Result<$crate::proto::User, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::SignUp::new(user))$(.$await)?
            }

            /// Updates the signed-in user's profile. Changing the password needs
            /// the old one; see [`change_password`](Self::change_password).
            pub $($async)? fn update_user(
                &self,
                update: $crate::proto::ops::UserUpdate,
            ) -> ::core::result::Result<$crate::proto::User, $crate::Error> {
                let op = <Self as $crate::surface::ClientCore>::shell(self)
                    .with_session(|s| $crate::proto::ops::UpdateUser::for_session(s, update))?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// Changes the signed-in user's password; every session stays valid.
            pub $($async)? fn change_password(
                &self,
                old_password: impl ::core::convert::Into<$crate::proto::Secret>,
                new_password: impl ::core::convert::Into<$crate::proto::Secret>,
            ) -> ::core::result::Result<$crate::proto::User, $crate::Error> {
                let update = $crate::proto::ops::UserUpdate::new()
                    .old_password(old_password)
                    .password(new_password);
                self.update_user(update)$(.$await)?
            }

            /// Deletes the signed-in user; the session ends with it.
            pub $($async)? fn delete_current_user(&self) -> ::core::result::Result<(), $crate::Error> {
                let op = <Self as $crate::surface::ClientCore>::shell(self)
                    .with_session($crate::proto::ops::DeleteUser::for_session)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// Deletes the signed-in user by their external id; the session ends.
            pub $($async)? fn delete_user_by_external_id(
                &self,
                external_id: &str,
            ) -> ::core::result::Result<(), $crate::Error> {
                let op =
                    $crate::proto::ops::DeleteUserByExternalId::new(external_id).map_err($crate::proto::Error::from)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// Asks the server to e-mail a password-reset link.
            pub $($async)? fn reset_password(&self, email: &str) -> ::core::result::Result<(), $crate::Error> {
                let op = $crate::proto::ops::ResetPassword::new(email).map_err($crate::proto::Error::from)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }
        }

        /// # Look-ups
        ///
        /// Finding users: one by a key, many by ids, tags, phone or a full-name
        /// prefix, and searches one page at a time (with offset, limit and sort).
        impl $client {
            /// The user with this id, or `None`.
            pub $($async)? fn get_user(
                &self,
                id: u64,
            ) -> ::core::result::Result<::core::option::Option<$crate::proto::User>, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetUser::by_id(id))$(.$await)?
            }

            /// The user with this login (case-sensitive), or `None`.
            pub $($async)? fn get_user_by_login(
                &self,
                login: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::proto::User>, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetUser::by_login(login))$(.$await)?
            }

            /// The user with this e-mail (case-insensitive), or `None`.
            pub $($async)? fn get_user_by_email(
                &self,
                email: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::proto::User>, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetUser::by_email(email))$(.$await)?
            }

            /// The user with this external id, or `None`.
            pub $($async)? fn get_user_by_external_id(
                &self,
                external_id: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::proto::User>, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetUser::by_external_id(external_id))$(.$await)?
            }

            /// The user with this Facebook id, or `None`.
            pub $($async)? fn get_user_by_facebook_id(
                &self,
                facebook_id: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::proto::User>, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetUser::by_facebook_id(facebook_id))$(.$await)?
            }

            /// The user with this Twitter id, or `None`.
            pub $($async)? fn get_user_by_twitter_id(
                &self,
                twitter_id: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::proto::User>, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetUser::by_twitter_id(twitter_id))$(.$await)?
            }

            /// The users with these ids, any number of them, in the order asked:
            /// one request per 100 ids. Repeated ids come back once; ids nobody
            /// has are left out.
            pub $($async)? fn get_users_by_ids(
                &self,
                ids: impl ::core::iter::IntoIterator<Item = u64>,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::proto::User>, $crate::Error> {
                let mut lookup = $crate::proto::search::UsersByIds::new(ids);
                for op in lookup.requests()? {
                    let page = <Self as $hooks>::execute(self, op)$(.$await)??;
                    lookup.handle_page(page);
                }
                ::core::result::Result::Ok(lookup.users())
            }

            /// The users whose full name starts with `prefix` (first v2 page;
            /// the server answers pages of 5), as the Flutter SDK's
            /// `getUsersByFullName`: `full_name[start_with]=`. A prefix under 4
            /// characters is looked up exactly (`full_name=`). An exact search of
            /// a longer name: `search_users(UserSearch::new().eq(Field::FullName, name).build()?)`.
            pub $($async)? fn find_users_by_full_name(
                &self,
                prefix: &str,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                let op = $crate::proto::ops::SearchUsers::by_full_name(prefix)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// The users with this phone number (first v2 page).
            pub $($async)? fn find_users_by_phone(
                &self,
                phone: &str,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                let op = $crate::proto::ops::SearchUsers::by_phone(phone)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// The users with any of these tags (first v2 page).
            pub $($async)? fn find_users_by_tags(
                &self,
                tags: impl ::core::iter::IntoIterator<Item = impl ::core::convert::Into<::std::string::String>>,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                let op = $crate::proto::ops::SearchUsers::by_tags(tags)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of a v2 search (build one with `UserSearch`).
            pub $($async)? fn search_users(
                &self,
                search: $crate::proto::ops::SearchUsers,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                <Self as $hooks>::execute(self, search)$(.$await)?
            }

            /// One page of the deprecated v1 list.
            pub $($async)? fn list_users_v1(
                &self,
                list: $crate::proto::ops::ListUsers,
            ) -> ::core::result::Result<$crate::proto::model::PageV1, $crate::Error> {
                <Self as $hooks>::execute(self, list)$(.$await)?
            }

            /// One page of the users with these ids (at most 100 ids), with
            /// offset, limit and sort. For any number of ids in the order asked,
            /// see [`get_users_by_ids`](Self::get_users_by_ids).
            pub $($async)? fn get_users_by_ids_paged(
                &self,
                ids: impl ::core::iter::IntoIterator<Item = u64>,
                paging: &$crate::proto::search::Paging,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                let ids: ::std::vec::Vec<u64> = ids.into_iter().collect();
                if ids.len() > $crate::proto::search::MAX_IDS_PER_REQUEST {
                    return ::core::result::Result::Err(
                        $crate::proto::Error::from($crate::proto::error::InvalidInput::new(
                            "ids",
                            ::std::format!(
                                "{} ids; a page takes at most 100 (get_users_by_ids takes any number)",
                                ids.len()
                            ),
                        ))
                        .into(),
                    );
                }
                let op = $crate::proto::ops::SearchUsers::by_ids(ids)?.with_paging(paging)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of the users whose full name starts with `prefix` (see
            /// [`find_users_by_full_name`](Self::find_users_by_full_name)), with
            /// offset and sort; a prefix search keeps the server's pages of 5.
            pub $($async)? fn find_users_by_full_name_paged(
                &self,
                prefix: &str,
                paging: &$crate::proto::search::Paging,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                let op = $crate::proto::ops::SearchUsers::by_full_name(prefix)?.with_paging(paging)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of the users with this phone number, with offset, limit and sort.
            pub $($async)? fn find_users_by_phone_paged(
                &self,
                phone: &str,
                paging: &$crate::proto::search::Paging,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                let op = $crate::proto::ops::SearchUsers::by_phone(phone)?.with_paging(paging)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of the users with any of these tags, with offset, limit and sort.
            pub $($async)? fn find_users_by_tags_paged(
                &self,
                tags: impl ::core::iter::IntoIterator<Item = impl ::core::convert::Into<::std::string::String>>,
                paging: &$crate::proto::search::Paging,
            ) -> ::core::result::Result<$crate::proto::model::PageV2, $crate::Error> {
                let op = $crate::proto::ops::SearchUsers::by_tags(tags)?.with_paging(paging)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }
        }

        /// # Storage
        ///
        /// Files: their records, small uploads from memory, the avatar recipe and
        /// the URLs a file is read from.
        impl $client {
            /// Creates a file record with its upload permission.
            pub $($async)? fn create_blob(
                &self,
                blob: $crate::proto::ops::CreateBlob,
            ) -> ::core::result::Result<$crate::proto::model::Blob, $crate::Error> {
                <Self as $hooks>::execute(self, blob)$(.$await)?
            }

            /// Uploads a file's bytes to its upload URL (no session involved).
            pub $($async)? fn upload(
                &self,
                upload: $crate::proto::ops::Upload,
            ) -> ::core::result::Result<(), $crate::Error> {
                <Self as $hooks>::execute(self, upload)$(.$await)?
            }

            /// Declares a file uploaded, with its size in bytes.
            pub $($async)? fn complete_blob(&self, id: u64, size: u64) -> ::core::result::Result<(), $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::CompleteBlob::new(id, size))$(.$await)?
            }

            /// A file's record.
            pub $($async)? fn get_blob(&self, id: u64) -> ::core::result::Result<$crate::proto::model::Blob, $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::GetBlob::new(id))$(.$await)?
            }

            /// Deletes a file.
            pub $($async)? fn delete_blob(&self, id: u64) -> ::core::result::Result<(), $crate::Error> {
                <Self as $hooks>::execute(self, $crate::proto::ops::DeleteBlob::new(id))$(.$await)?
            }

            /// Creates, uploads and completes a file: the first half of the
            /// avatar recipe. Returns the completed file's record.
            pub $($async)? fn upload_file(
                &self,
                blob: $crate::proto::ops::CreateBlob,
                bytes: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<$crate::proto::model::Blob, $crate::Error> {
                let created = self.create_blob(blob)$(.$await)??;
                let size = bytes.len() as u64;
                let upload =
                    $crate::proto::ops::Upload::for_blob(&created, bytes).map_err($crate::proto::Error::from)?;
                self.upload(upload)$(.$await)??;
                self.complete_blob(created.id, size)$(.$await)??;
                ::core::result::Result::Ok(created)
            }

            /// The avatar recipe: uploads the image and makes its uid the signed-in
            /// user's `avatar`. Returns the file and the updated user.
            pub $($async)? fn set_avatar(
                &self,
                content_type: &str,
                file_name: &str,
                bytes: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<($crate::proto::model::Blob, $crate::proto::User), $crate::Error> {
                let blob =
                    $crate::proto::ops::CreateBlob::new(content_type, file_name).map_err($crate::proto::Error::from)?;
                let blob = self.upload_file(blob, bytes)$(.$await)??;
                let uid = blob.uid.clone().ok_or_else(|| {
                    $crate::proto::Error::from($crate::proto::error::InvalidInput::new(
                        "uid",
                        "the server gave the file no uid",
                    ))
                })?;
                let user = self
                    .update_user($crate::proto::ops::UserUpdate::new().avatar(uid))
                    $(.$await)??;
                ::core::result::Result::Ok((blob, user))
            }

            /// The private URL of a file, carrying this session's token (treat it
            /// as a secret); `None` when the session is not valid now (none,
            /// expired, or inside the safety margin), since such a URL would not
            /// open. A malformed uid is an error.
            pub fn blob_private_url(
                &self,
                uid: &str,
            ) -> ::core::result::Result<::core::option::Option<String>, $crate::Error> {
                let shell = <Self as $crate::surface::ClientCore>::shell(self);
                let now = shell.now();
                let token = shell.with_session(|s| s.token().filter(|_| s.is_valid(now)).cloned());
                let ::core::option::Option::Some(token) = token else {
                    return ::core::result::Result::Ok(::core::option::Option::None);
                };
                ::core::result::Result::Ok(::core::option::Option::Some(
                    $crate::proto::ops::blob_private_url(shell.config(), uid, &token)?,
                ))
            }

            /// The public URL of a public file.
            pub fn blob_public_url(&self, uid: &str) -> ::core::result::Result<String, $crate::Error> {
                let shell = <Self as $crate::surface::ClientCore>::shell(self);
                ::core::result::Result::Ok($crate::proto::ops::blob_public_url(shell.config(), uid)?)
            }
        }

    };
    ($krate:ident, $client:ident, $builder:ident, $adapter:ty) => {
        $crate::client_calls!(@client $krate, $client, $builder, $adapter);
        $crate::client_calls!(@groups $client, $crate::surface::Execute);
    };
    ($krate:ident, $client:ident, $builder:ident, $adapter:ty, async) => {
        $crate::client_calls!(@client $krate, $client, $builder, $adapter);
        $crate::client_calls!(@groups $client, $crate::surface::ExecuteAsync, async, await);
    };
}
