//! How much of the emulator clients can hold, and for how long: the
//! number of connections, the memory request bodies hold all together,
//! and the pace a body must keep. Unlike the fixed rules of the parent
//! module, these are settings ([`crate::EmulatorConfig::limits`]).

use std::time::Duration;

/// The first bytes of every body that need no share of
/// [`Limits::body_memory`], so that small requests (nearly all of the API)
/// never wait behind large ones. Like hyper's own per-connection buffer,
/// this memory is bounded by the number of connections.
pub(crate) const FREE_PER_BODY: usize = 16 * 1024;
/// File descriptors kept for everything but client connections: the
/// database, uploaded files, calls to identity providers.
const RESERVED_FDS: u64 = 64;
/// Fewest connections the derived cap allows.
const MIN_CONNECTIONS: u64 = 16;
/// Cap when the file-descriptor limit cannot be read.
const FALLBACK_CONNECTIONS: usize = 256;

/// Limits on what clients may hold (see [`crate::EmulatorConfig::limits`]).
///
/// The defaults suit a developer's machine and a LAN: start from
/// [`Limits::default`] and change fields.
///
/// ```
/// let mut limits = cube_emulator::Limits::default();
/// limits.max_connections = Some(64);
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most client connections served at once. When full, a new
    /// connection makes room by closing the one that has waited longest
    /// on its client (idle, or sending its request too slowly); if every
    /// connection is busy on the emulator's side, the new one is answered
    /// `503` and closed. `None`: half of what the file-descriptor limit
    /// leaves after 64 for the emulator's own files (each connection may
    /// also have a file open), at least 16.
    pub max_connections: Option<usize>,
    /// Memory that request bodies (and what they parse into) may hold all
    /// together, beyond their first 16 KiB each. Past it, bodies are read
    /// only as memory frees up: clients wait (TCP back-pressure) rather
    /// than the emulator buffering. Default 32 MiB.
    pub body_memory: usize,
    /// Slowest pace a request body may keep, in bytes per second, once
    /// [`Limits::body_grace`] has passed. Time spent waiting on the
    /// emulator (for body memory, or for an upload to reach the disk)
    /// does not count. Default 240, as ASP.NET Core's Kestrel uses.
    pub min_body_rate: u32,
    /// How long a body may arrive at any pace before
    /// [`Limits::min_body_rate`] applies. Default 5 s.
    pub body_grace: Duration,
    /// The most a body may get ahead of the minimum pace, as time: a body
    /// that stops sending is cut at most this long after its last byte.
    /// Default 10 s.
    pub max_body_pause: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: None,
            body_memory: 32 << 20,
            min_body_rate: 240,
            body_grace: Duration::from_secs(5),
            max_body_pause: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The connection cap in force.
    pub(crate) fn connection_cap(&self) -> usize {
        self.max_connections
            .unwrap_or_else(|| derived_cap(open_files_limit()))
            .max(1)
    }
}

/// `(limit − 64) / 2`, at least 16; the fallback when unknown.
fn derived_cap(limit: Option<u64>) -> usize {
    limit.map_or(FALLBACK_CONNECTIONS, |limit| {
        usize::try_from((limit.saturating_sub(RESERVED_FDS) / 2).max(MIN_CONNECTIONS))
            .unwrap_or(usize::MAX)
    })
}

/// The soft limit on open files, when there is one.
#[cfg(unix)]
fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_files_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_follows_the_file_descriptor_limit() {
        assert_eq!(derived_cap(Some(256)), 96);
        assert_eq!(derived_cap(Some(1024)), 480);
        assert_eq!(derived_cap(Some(20)), 16);
        assert_eq!(derived_cap(None), 256);
        let cap = |max_connections| {
            Limits {
                max_connections,
                ..Limits::default()
            }
            .connection_cap()
        };
        assert_eq!(cap(Some(0)), 1);
        assert_eq!(cap(Some(7)), 7);
    }
}
