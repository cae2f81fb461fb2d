//! Rate-limited log lines: a peer that misbehaves on purpose must not be
//! able to flood the log. Each key (a socket and a reason) may log a few
//! lines per window; lines beyond are counted and the count is reported
//! with the next line that is logged.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Lines each key may log per window.
pub(crate) const LINES_PER_WINDOW: u32 = 5;
/// The window.
pub(crate) const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Window {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

/// Whether to log a line now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Log it, saying how many lines of this key were suppressed since the
    /// last one logged (0: none).
    Log { suppressed: u64 },
    /// Do not log it (it was counted).
    Suppress,
}

/// Per-key windows of [`LINES_PER_WINDOW`] lines per [`WINDOW`].
#[derive(Debug)]
pub(crate) struct RateLimiter<K> {
    windows: HashMap<K, Window>,
}

impl<K> Default for RateLimiter<K> {
    fn default() -> Self {
        RateLimiter {
            windows: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// Whether a line for `key` at `now` may be logged.
    pub(crate) fn check(&mut self, key: K, now: Instant) -> Verdict {
        let window = self.windows.entry(key).or_insert(Window {
            start: now,
            logged: 0,
            suppressed: 0,
        });
        if now.saturating_duration_since(window.start) >= WINDOW {
            window.start = now;
            window.logged = 0;
        }
        if window.logged < LINES_PER_WINDOW {
            window.logged += 1;
            Verdict::Log {
                suppressed: std::mem::take(&mut window.suppressed),
            }
        } else {
            window.suppressed += 1;
            Verdict::Suppress
        }
    }

    /// Forgets the keys `gone` says are gone (a closed socket's).
    pub(crate) fn forget(&mut self, gone: impl Fn(&K) -> bool) {
        self.windows.retain(|k, _| !gone(k));
    }
}

/// Logs at warn through `limiter`, at most [`LINES_PER_WINDOW`] lines per
/// [`WINDOW`] per key, with a count of the lines suppressed before.
macro_rules! warn_limited {
    ($limiter:expr, $key:expr, $($arg:tt)+) => {
        if let $crate::ratelimit::Verdict::Log { suppressed } =
            $limiter.check($key, std::time::Instant::now())
        {
            if suppressed > 0 {
                log::warn!("{} ({} similar lines suppressed)", format_args!($($arg)+), suppressed);
            } else {
                log::warn!($($arg)+);
            }
        }
    };
}
pub(crate) use warn_limited;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_lines_per_window_then_a_count() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..LINES_PER_WINDOW {
            assert_eq!(limiter.check("a", t0), Verdict::Log { suppressed: 0 });
        }
        for _ in 0..7 {
            assert_eq!(limiter.check("a", t0), Verdict::Suppress);
        }
        // Another key has its own window.
        assert_eq!(limiter.check("b", t0), Verdict::Log { suppressed: 0 });
        let later = t0 + WINDOW;
        assert_eq!(limiter.check("a", later), Verdict::Log { suppressed: 7 });
        assert_eq!(limiter.check("a", later), Verdict::Log { suppressed: 0 });
    }

    #[test]
    fn forgotten_keys_start_afresh() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..LINES_PER_WINDOW + 3 {
            limiter.check((1, "x"), t0);
        }
        limiter.forget(|&(socket, _)| socket == 1);
        assert_eq!(limiter.check((1, "x"), t0), Verdict::Log { suppressed: 0 });
    }
}
