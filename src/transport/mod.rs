//! Transports. Only TCP so far; ipc and inproc come with the socket family issue.

pub(crate) mod tcp;
