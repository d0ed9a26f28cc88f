//! The ConnectyCube Auth & Users protocol, sans-IO.
