//! A transfer's progress bar, on standard error when it is a terminal;
//! nothing otherwise (scripts read the result, not the bar).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar for `what` of `total` bytes (when known), or `None` when
/// standard error is not a terminal.
pub(crate) fn bar(what: &str, total: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    // Drawn from the first report that knows the total, never as 0 of 0.
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(crate::terminal::text(what).into_owned());
    if total.is_some() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    Some(bar)
}

/// Moves the bar to `done` of `total` (the total may be unknown).
pub(crate) fn show(bar: Option<&ProgressBar>, done: u64, total: Option<u64>) {
    if let Some(bar) = bar {
        if let Some(total) = total {
            bar.set_length(total);
            if bar.is_hidden() {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
        bar.set_position(done);
    }
}
