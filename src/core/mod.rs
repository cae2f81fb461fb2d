//! The core layer: what joins a socket to its peers without knowing either.
//! [`pipe`] (two bounded queues and the [`PipeEvents`](pipe::PipeEvents)
//! sink they report through), [`mailbox`] (a socket's events and wait) and
//! [`signal`] (readiness flags, watchers, the readiness fd). Below it only
//! the shared vocabulary (errors, endpoints, options, monitor events) and
//! `zmio_proto`.

pub(crate) mod mailbox;
pub(crate) mod pipe;
pub(crate) mod rules;
pub(crate) mod signal;
