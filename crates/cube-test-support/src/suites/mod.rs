//! The suites written once and expanded in each adapter's tests, as macros
//! that take the adapter's crate name and the test attribute (with `async
//! await` for an async adapter).

mod answer_limit;
mod e2e;
mod logs;
mod persist;
mod retry;
mod retry_faults;
mod spans;
mod transfer;
