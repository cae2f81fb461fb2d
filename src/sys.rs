//! Platform calls in one place: socket writes that never raise SIGPIPE.

use std::io::{self, IoSlice};
use std::os::fd::AsFd;

use socket2::SockRef;

/// Flags for every write to a connection: MSG_NOSIGNAL, so a write to a
/// connection whose peer went away fails with EPIPE instead of raising
/// SIGPIPE, whose default action kills the process. A library must not
/// count on its host ignoring SIGPIPE (Rust binaries do; C, Python and
/// others' do not). `writev` has no such flag, hence `sendmsg`.
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;

/// Writes `buf` to the socket `fd` with [`SEND_FLAGS`] (never SIGPIPE).
pub(crate) fn send_nosignal(fd: &impl AsFd, buf: &[u8]) -> io::Result<usize> {
    SockRef::from(fd).send_with_flags(buf, SEND_FLAGS)
}

/// Writes `bufs` to the socket `fd` with [`SEND_FLAGS`].
pub(crate) fn send_vectored(fd: &impl AsFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    SockRef::from(fd).send_vectored_with_flags(bufs, SEND_FLAGS)
}
