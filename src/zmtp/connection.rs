//! STUB: replaced by the real implementation.
#![allow(dead_code, unused_variables)]

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::msg::Msg;
use crate::socket_types::SocketKind;

/// How our side of a connection presents itself.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionConfig {
    /// Our socket type, sent as `Socket-Type` in READY.
    pub socket_kind: SocketKind,
    /// Our routing id, sent as `Identity` in READY when `socket_kind.sends_identity()`.
    pub routing_id: Bytes,
    /// Largest message (all frames) accepted from the peer; `None` is unlimited.
    pub max_msg_size: Option<u64>,
}

/// What the peer told us in its greeting and READY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerInfo {
    /// The peer's socket type.
    pub socket_kind: SocketKind,
    /// The peer's `Identity` property, if it sent a non-empty one.
    pub routing_id: Option<Bytes>,
    /// The peer's ZMTP minor version (0 for a 3.0 peer).
    pub minor_version: u8,
}

/// Output of [`Connection::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The handshake completed; messages may flow.
    Ready(PeerInfo),
    /// A complete message from the peer.
    Message(Msg),
}

/// One ZMTP connection's protocol state.
#[derive(Debug)]
pub(crate) struct Connection {}

impl Connection {
    pub(crate) fn new(config: ConnectionConfig) -> Connection {
        todo!()
    }
    pub(crate) fn handle_input(&mut self, input: &mut BytesMut) -> Result<(), ProtocolError> {
        todo!()
    }
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }
    pub(crate) fn is_ready(&self) -> bool {
        todo!()
    }
    pub(crate) fn send_message(&mut self, msg: Msg) {
        todo!()
    }
    pub(crate) fn pending_transmit(&self) -> usize {
        todo!()
    }
    pub(crate) fn transmit_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        todo!()
    }
    pub(crate) fn advance_transmit(&mut self, n: usize) {
        todo!()
    }
}
