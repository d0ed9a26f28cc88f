//! How much the fault rules (`/_emulator/faults`, `--fault`) may hold and
//! do: a bounded table of bounded rules, so that they cost a few megabytes
//! at most, and a latency that cannot keep a connection past a minute.

use std::time::Duration;

/// The most rules set at once (spent ones count until cleared).
pub(crate) const FAULT_RULES_MAX: usize = 100;
/// The largest body a rule answers with, in bytes.
pub(crate) const FAULT_BODY_MAX_BYTES: usize = 64 * 1024;
/// The most headers a rule answers with.
pub(crate) const FAULT_HEADERS_MAX: usize = 16;
/// The longest header (name and value) a rule answers with, in bytes.
pub(crate) const FAULT_HEADER_MAX_BYTES: usize = 1024;
/// The longest latency a rule adds: a delayed request holds its
/// connection, so it must let go of it.
pub(crate) const FAULT_LATENCY_MAX: Duration = Duration::from_secs(60);
/// The longest path pattern, in bytes.
pub(crate) const FAULT_PATTERN_MAX_BYTES: usize = 512;
/// The longest rule in its text form, in bytes: the largest rule written
/// with the most escaping a value can need (a control character is six
/// bytes in a JSON string), with room to spare, so that every rule's
/// canonical text reads back. Longer text is refused unread.
pub(crate) const FAULT_TEXT_MAX_BYTES: usize =
    FAULT_BODY_MAX_BYTES * 6 + FAULT_HEADERS_MAX * FAULT_HEADER_MAX_BYTES * 2 + 4096;

/// Whether `bytes` is a body size a rule may answer with.
pub(crate) fn fault_body_ok(bytes: usize) -> bool {
    bytes <= FAULT_BODY_MAX_BYTES
}

/// Whether `latency` is one a rule may add.
pub(crate) fn fault_latency_ok(latency: Duration) -> bool {
    latency <= FAULT_LATENCY_MAX
}

/// Whether a table of `rules` rules is within the cap.
pub(crate) fn fault_rules_ok(rules: usize) -> bool {
    rules <= FAULT_RULES_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_limits_at_and_past_their_bounds() {
        assert!(fault_body_ok(0) && fault_body_ok(FAULT_BODY_MAX_BYTES));
        assert!(!fault_body_ok(FAULT_BODY_MAX_BYTES + 1));
        assert!(fault_latency_ok(Duration::ZERO) && fault_latency_ok(FAULT_LATENCY_MAX));
        assert!(!fault_latency_ok(
            FAULT_LATENCY_MAX + Duration::from_millis(1)
        ));
        assert!(fault_rules_ok(0) && fault_rules_ok(FAULT_RULES_MAX));
        assert!(!fault_rules_ok(FAULT_RULES_MAX + 1));
        // A whole table of the largest rules stays within a few MiB.
        let rule = FAULT_BODY_MAX_BYTES + FAULT_HEADERS_MAX * FAULT_HEADER_MAX_BYTES;
        assert!(FAULT_RULES_MAX * rule <= 8 << 20);
    }
}
