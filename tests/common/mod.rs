//! Helpers shared by the integration tests of the socket family.

// Each test crate compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use std::time::Duration;

use zmio::{Context, Socket, SocketType};

/// How long any single send or receive may wait before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A socket whose sends and receives give up after [`PATIENCE`] (so a
/// broken behaviour fails the test instead of hanging it) and that lingers
/// at most a second on close.
pub fn socket<T: SocketType>(ctx: &Context) -> Socket<T> {
    let mut s = ctx.socket::<T>().unwrap();
    s.set_rcvtimeo(Some(PATIENCE)).unwrap();
    s.set_sndtimeo(Some(PATIENCE)).unwrap();
    s.set_linger(Some(Duration::from_secs(1))).unwrap();
    s
}

/// The transports a test runs over: a fresh tcp port, a fresh ipc path and
/// a fresh inproc name (bind and connect within one context for that one).
pub fn endpoints() -> [&'static str; 3] {
    ["tcp://127.0.0.1:*", "ipc://*", fresh_inproc()]
}

/// A fresh inproc endpoint, unique in the test process.
pub fn fresh_inproc() -> &'static str {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Leaked: a few bytes per test, so call sites keep their `&str`s.
    Box::leak(format!("inproc://test-{n}").into_boxed_str())
}

/// An endpoint of the same transport for a second bind: a wildcard tcp or
/// ipc endpoint binds anew each time; an inproc name needs a fresh one.
pub fn another(transport: &'static str) -> &'static str {
    if transport.starts_with("inproc://") {
        fresh_inproc()
    } else {
        transport
    }
}
