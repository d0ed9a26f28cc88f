//! [`answer_limit_suite!`](crate::answer_limit_suite): the most of an answer
//! an adapter reads into memory, at the limit and one byte past it.

/// Against a server whose answer to a read is a page of exactly
/// [`MAX_ANSWER_BYTES`](proto::wire::MAX_ANSWER_BYTES) bytes, the call
/// succeeds with the whole user; one byte more, and it fails with
/// [`answer_too_large`](proto::wire::answer_too_large)'s error, the
/// answer's status kept, after one request (a read whose answer had begun
/// is not sent again). Expanded for each adapter:
/// `answer_limit_suite!(cube_blocking, #[test]);` or
/// `answer_limit_suite!(cube_async, #[tokio::test] async await);`.
#[macro_export]
macro_rules! answer_limit_suite {
    ($adapter:ident, #[$attr:meta] $($async:ident $await:ident)?) => {
        use $adapter::{Client, IssuedToken};
        use $crate::fake::{FakeServer, Reply};
        use $crate::fake::page_of_length;

        /// A client with a session in place, so that the read is the only
        /// request, of a server that answers every request with `body`.
        fn answering(body: String) -> (FakeServer, Client) {
            let server = FakeServer::start(move |_| Reply::new(200, &body));
            let client = Client::builder(1, "limit-auth-key")
                .base_url(server.url())
                .adopt_session(IssuedToken::new("t0ken-limit"))
                .build()
                .unwrap();
            (server, client)
        }

        #[$attr]
        $($async)? fn an_answer_of_exactly_the_limit_is_read_whole() {
            let max = $adapter::proto::wire::MAX_ANSWER_BYTES;
            let body = page_of_length(max);
            assert_eq!(body.len(), max);
            let (server, client) = answering(body);
            let user = client.get_user(5)$(.$await)?.unwrap().expect("the user");
            assert_eq!(user.id, 5);
            assert_eq!(user.login.map(|l| l.len()), Some(max - page_of_length(0).len()));
            assert_eq!(server.requests().len(), 1);
        }

        #[$attr]
        $($async)? fn an_answer_one_byte_past_the_limit_is_refused() {
            let max = $adapter::proto::wire::MAX_ANSWER_BYTES;
            let (server, client) = answering(page_of_length(max + 1));
            let error = client.get_user(5)$(.$await)?.unwrap_err();
            assert_eq!(error.status().map(|s| s.as_u16()), Some(200), "{error}");
            let expected = $adapter::proto::wire::answer_too_large(error.status().unwrap());
            assert_eq!(error.to_string(), $adapter::Error::from(expected).to_string());
            assert_eq!(server.requests().len(), 1, "an answer that had begun is not sent again");
        }
    };
}
