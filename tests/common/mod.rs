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

/// The transports a test runs over: a fresh tcp port and a fresh ipc path.
pub fn endpoints() -> [&'static str; 2] {
    ["tcp://127.0.0.1:*", "ipc://*"]
}
