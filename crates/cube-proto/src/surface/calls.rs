//! [`client_calls!`](crate::client_calls): the calls of every adapter's
//! client, in topical groups.

/// Expands, next to an adapter's `Client`, to its calls: one `impl` block
/// per group (sessions, users, look-ups, storage), each with its own heading
/// in rustdoc. The client implements
/// [`ClientCore`](crate::surface::ClientCore) and
/// [`Execute`](crate::surface::Execute) (`client_calls!(Client, Error);`) or
/// [`ExecuteAsync`](crate::surface::ExecuteAsync)
/// (`client_calls!(Client, Error, async);`), `Error` being its
/// `ClientCore::Error`.
#[macro_export]
#[doc(hidden)]
macro_rules! client_calls {
    (@groups $client:ty, $error:ty, $hooks:path $(, $async:ident, $await:ident)?) => {
        // A client without the hooks, or whose error is not `$error`, fails
        // here, once, naming the trait it lacks.
        const _: () = {
            fn hooks<C: $hooks + $crate::surface::ClientCore<Error = $error>>() {}
            let _ = hooks::<$client>;
        };

        /// # Sessions
        ///
        /// The session as the client holds it now, and the calls that create,
        /// upgrade, downgrade and end sessions on the server.
        impl $client {
            /// The session's state now.
            pub fn session_status(&self) -> $crate::SessionStatus {
                <Self as $crate::surface::ClientCore>::session_snapshot(self)
                    .status(<Self as $crate::surface::ClientCore>::now(self))
            }

            /// Whether the session can be used now (live, outside the safety margin).
            pub fn is_session_valid(&self) -> bool {
                <Self as $crate::surface::ClientCore>::session_snapshot(self)
                    .is_valid(<Self as $crate::surface::ClientCore>::now(self))
            }

            /// When the token dies unless used again.
            pub fn session_expires_at(&self) -> ::core::option::Option<$crate::time::OffsetDateTime> {
                <Self as $crate::surface::ClientCore>::session_snapshot(self).expires_at()
            }

            /// The session token (for chat log-in, private file URLs).
            pub fn session_token(&self) -> ::core::option::Option<$crate::Secret> {
                <Self as $crate::surface::ClientCore>::session_snapshot(self)
                    .token()
                    .cloned()
            }

            /// The signed-in user's id.
            pub fn current_user_id(&self) -> ::core::option::Option<u64> {
                <Self as $crate::surface::ClientCore>::session_snapshot(self).user_id()
            }

            /// Creates a session: an application session with
            /// `Credentials::Application`, a user or guest session with the
            /// other kinds. It replaces the current session.
            pub $($async)? fn create_session(
                &self,
                credentials: $crate::Credentials,
            ) -> ::core::result::Result<$crate::SessionInfo, $error> {
                <Self as $hooks>::execute(self, $crate::ops::CreateSession::new(credentials))$(.$await)?
            }

            /// Creates an application (read-only) session.
            pub $($async)? fn create_application_session(
                &self,
            ) -> ::core::result::Result<$crate::SessionInfo, $error> {
                <Self as $hooks>::execute(self, $crate::ops::CreateSession::application())$(.$await)?
            }

            /// Signs in: upgrades the application session to a user session
            /// (one is created first when there is none). Any credential kind
            /// but application and guest.
            pub $($async)? fn sign_in(
                &self,
                credentials: $crate::Credentials,
            ) -> ::core::result::Result<$crate::User, $error> {
                <Self as $hooks>::execute(self, $crate::ops::SignIn::new(credentials))$(.$await)?
            }

            /// Signs out: the user session becomes an application session.
            pub $($async)? fn sign_out(&self) -> ::core::result::Result<(), $error> {
                <Self as $hooks>::execute(self, $crate::ops::SignOut)$(.$await)?
            }

            /// What the server knows about the current session.
            pub $($async)? fn session_info(&self) -> ::core::result::Result<$crate::SessionInfo, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetSession)$(.$await)?
            }

            /// Destroys the current session; its token dies.
            pub $($async)? fn destroy_session(&self) -> ::core::result::Result<(), $error> {
                <Self as $hooks>::execute(self, $crate::ops::DestroySession)$(.$await)?
            }

            /// Destroys another session of the same user, by id.
            pub $($async)? fn destroy_session_by_id(
                &self,
                session_id: u64,
            ) -> ::core::result::Result<(), $error> {
                <Self as $hooks>::execute(self, $crate::ops::DestroySessionById::new(session_id))$(.$await)?
            }

            /// Destroys every session of the user but the current one.
            pub $($async)? fn destroy_other_sessions(&self) -> ::core::result::Result<(), $error> {
                <Self as $hooks>::execute(self, $crate::ops::DestroyOtherSessions)$(.$await)?
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
                user: $crate::ops::NewUser,
            ) -> ::core::result::Result<$crate::User, $error> {
                <Self as $hooks>::execute(self, $crate::ops::SignUp::new(user))$(.$await)?
            }

            /// Updates the signed-in user's profile. Changing the password needs
            /// the old one; see [`change_password`](Self::change_password).
            pub $($async)? fn update_user(
                &self,
                update: $crate::ops::UserUpdate,
            ) -> ::core::result::Result<$crate::User, $error> {
                let op = $crate::ops::UpdateUser::for_session(
                    &<Self as $crate::surface::ClientCore>::session_snapshot(self),
                    update,
                )?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// Changes the signed-in user's password; every session stays valid.
            pub $($async)? fn change_password(
                &self,
                old_password: impl ::core::convert::Into<$crate::Secret>,
                new_password: impl ::core::convert::Into<$crate::Secret>,
            ) -> ::core::result::Result<$crate::User, $error> {
                let update = $crate::ops::UserUpdate::new()
                    .old_password(old_password)
                    .password(new_password);
                self.update_user(update)$(.$await)?
            }

            /// Deletes the signed-in user; the session ends with it.
            pub $($async)? fn delete_current_user(&self) -> ::core::result::Result<(), $error> {
                let op = $crate::ops::DeleteUser::for_session(
                    &<Self as $crate::surface::ClientCore>::session_snapshot(self),
                )?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// Deletes the signed-in user by their external id; the session ends.
            pub $($async)? fn delete_user_by_external_id(
                &self,
                external_id: &str,
            ) -> ::core::result::Result<(), $error> {
                let op =
                    $crate::ops::DeleteUserByExternalId::new(external_id).map_err($crate::Error::from)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// Asks the server to e-mail a password-reset link.
            pub $($async)? fn reset_password(&self, email: &str) -> ::core::result::Result<(), $error> {
                let op = $crate::ops::ResetPassword::new(email).map_err($crate::Error::from)?;
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
            ) -> ::core::result::Result<::core::option::Option<$crate::User>, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetUser::by_id(id))$(.$await)?
            }

            /// The user with this login (case-sensitive), or `None`.
            pub $($async)? fn get_user_by_login(
                &self,
                login: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::User>, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetUser::by_login(login))$(.$await)?
            }

            /// The user with this e-mail (case-insensitive), or `None`.
            pub $($async)? fn get_user_by_email(
                &self,
                email: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::User>, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetUser::by_email(email))$(.$await)?
            }

            /// The user with this external id, or `None`.
            pub $($async)? fn get_user_by_external_id(
                &self,
                external_id: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::User>, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetUser::by_external_id(external_id))$(.$await)?
            }

            /// The user with this Facebook id, or `None`.
            pub $($async)? fn get_user_by_facebook_id(
                &self,
                facebook_id: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::User>, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetUser::by_facebook_id(facebook_id))$(.$await)?
            }

            /// The user with this Twitter id, or `None`.
            pub $($async)? fn get_user_by_twitter_id(
                &self,
                twitter_id: &str,
            ) -> ::core::result::Result<::core::option::Option<$crate::User>, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetUser::by_twitter_id(twitter_id))$(.$await)?
            }

            /// The users with these ids, any number of them, in the order asked:
            /// one request per 100 ids. Repeated ids come back once; ids nobody
            /// has are left out.
            pub $($async)? fn get_users_by_ids(
                &self,
                ids: impl ::core::iter::IntoIterator<Item = u64>,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::User>, $error> {
                let mut lookup = $crate::search::UsersByIds::new(ids);
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
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                let op = $crate::ops::SearchUsers::by_full_name(prefix)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// The users with this phone number (first v2 page).
            pub $($async)? fn find_users_by_phone(
                &self,
                phone: &str,
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                let op = $crate::ops::SearchUsers::by_phone(phone)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// The users with any of these tags (first v2 page).
            pub $($async)? fn find_users_by_tags(
                &self,
                tags: impl ::core::iter::IntoIterator<Item = impl ::core::convert::Into<::std::string::String>>,
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                let op = $crate::ops::SearchUsers::by_tags(tags)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of a v2 search (build one with `UserSearch`).
            pub $($async)? fn search_users(
                &self,
                search: $crate::ops::SearchUsers,
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                <Self as $hooks>::execute(self, search)$(.$await)?
            }

            /// One page of the deprecated v1 list.
            pub $($async)? fn list_users_v1(
                &self,
                list: $crate::ops::ListUsers,
            ) -> ::core::result::Result<$crate::model::PageV1, $error> {
                <Self as $hooks>::execute(self, list)$(.$await)?
            }

            /// One page of the users with these ids (at most 100 ids), with
            /// offset, limit and sort. For any number of ids in the order asked,
            /// see [`get_users_by_ids`](Self::get_users_by_ids).
            pub $($async)? fn get_users_by_ids_paged(
                &self,
                ids: impl ::core::iter::IntoIterator<Item = u64>,
                paging: &$crate::search::Paging,
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                let ids: ::std::vec::Vec<u64> = ids.into_iter().collect();
                if ids.len() > $crate::search::MAX_IDS_PER_REQUEST {
                    return ::core::result::Result::Err(
                        $crate::Error::from($crate::error::InvalidInput::new(
                            "ids",
                            ::std::format!(
                                "{} ids; a page takes at most 100 (get_users_by_ids takes any number)",
                                ids.len()
                            ),
                        ))
                        .into(),
                    );
                }
                let op = $crate::ops::SearchUsers::by_ids(ids)?.with_paging(paging)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of the users whose full name starts with `prefix` (see
            /// [`find_users_by_full_name`](Self::find_users_by_full_name)), with
            /// offset and sort; a prefix search keeps the server's pages of 5.
            pub $($async)? fn find_users_by_full_name_paged(
                &self,
                prefix: &str,
                paging: &$crate::search::Paging,
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                let op = $crate::ops::SearchUsers::by_full_name(prefix)?.with_paging(paging)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of the users with this phone number, with offset, limit and sort.
            pub $($async)? fn find_users_by_phone_paged(
                &self,
                phone: &str,
                paging: &$crate::search::Paging,
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                let op = $crate::ops::SearchUsers::by_phone(phone)?.with_paging(paging)?;
                <Self as $hooks>::execute(self, op)$(.$await)?
            }

            /// One page of the users with any of these tags, with offset, limit and sort.
            pub $($async)? fn find_users_by_tags_paged(
                &self,
                tags: impl ::core::iter::IntoIterator<Item = impl ::core::convert::Into<::std::string::String>>,
                paging: &$crate::search::Paging,
            ) -> ::core::result::Result<$crate::model::PageV2, $error> {
                let op = $crate::ops::SearchUsers::by_tags(tags)?.with_paging(paging)?;
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
                blob: $crate::ops::CreateBlob,
            ) -> ::core::result::Result<$crate::model::Blob, $error> {
                <Self as $hooks>::execute(self, blob)$(.$await)?
            }

            /// Uploads a file's bytes to its upload URL (no session involved).
            pub $($async)? fn upload(
                &self,
                upload: $crate::ops::Upload,
            ) -> ::core::result::Result<(), $error> {
                <Self as $hooks>::execute(self, upload)$(.$await)?
            }

            /// Declares a file uploaded, with its size in bytes.
            pub $($async)? fn complete_blob(&self, id: u64, size: u64) -> ::core::result::Result<(), $error> {
                <Self as $hooks>::execute(self, $crate::ops::CompleteBlob::new(id, size))$(.$await)?
            }

            /// A file's record.
            pub $($async)? fn get_blob(&self, id: u64) -> ::core::result::Result<$crate::model::Blob, $error> {
                <Self as $hooks>::execute(self, $crate::ops::GetBlob::new(id))$(.$await)?
            }

            /// Deletes a file.
            pub $($async)? fn delete_blob(&self, id: u64) -> ::core::result::Result<(), $error> {
                <Self as $hooks>::execute(self, $crate::ops::DeleteBlob::new(id))$(.$await)?
            }

            /// Creates, uploads and completes a file: the first half of the
            /// avatar recipe. Returns the completed file's record.
            pub $($async)? fn upload_file(
                &self,
                blob: $crate::ops::CreateBlob,
                bytes: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<$crate::model::Blob, $error> {
                let created = self.create_blob(blob)$(.$await)??;
                let size = bytes.len() as u64;
                let upload =
                    $crate::ops::Upload::for_blob(&created, bytes).map_err($crate::Error::from)?;
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
            ) -> ::core::result::Result<($crate::model::Blob, $crate::User), $error> {
                let blob =
                    $crate::ops::CreateBlob::new(content_type, file_name).map_err($crate::Error::from)?;
                let blob = self.upload_file(blob, bytes)$(.$await)??;
                let uid = blob.uid.clone().ok_or_else(|| {
                    $crate::Error::from($crate::error::InvalidInput::new(
                        "uid",
                        "the server gave the file no uid",
                    ))
                })?;
                let user = self
                    .update_user($crate::ops::UserUpdate::new().avatar(uid))
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
            ) -> ::core::result::Result<::core::option::Option<String>, $error> {
                let session = <Self as $crate::surface::ClientCore>::session_snapshot(self);
                let token = match session.token() {
                    ::core::option::Option::Some(token)
                        if session.is_valid(<Self as $crate::surface::ClientCore>::now(self)) =>
                    {
                        token
                    }
                    _ => return ::core::result::Result::Ok(::core::option::Option::None),
                };
                ::core::result::Result::Ok(::core::option::Option::Some(
                    $crate::ops::blob_private_url(
                        <Self as $crate::surface::ClientCore>::config(self),
                        uid,
                        token,
                    )?,
                ))
            }

            /// The public URL of a public file.
            pub fn blob_public_url(&self, uid: &str) -> ::core::result::Result<String, $error> {
                ::core::result::Result::Ok($crate::ops::blob_public_url(
                    <Self as $crate::surface::ClientCore>::config(self),
                    uid,
                )?)
            }
        }

    };
    ($client:ty, $error:ty) => {
        $crate::client_calls!(@groups $client, $error, $crate::surface::Execute);
    };
    ($client:ty, $error:ty, async) => {
        $crate::client_calls!(@groups $client, $error, $crate::surface::ExecuteAsync, async, await);
    };
}
