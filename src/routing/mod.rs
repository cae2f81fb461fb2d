//! The routing layer: how messages choose among a socket's pipes.
//! [`strategy`] holds the shared ways (load-balance, fair-queue, fan-out
//! with prefix subscriptions, the routing table); [`types`] one small policy
//! per socket type over them. It knows pipes (the core layer), never the
//! reactor or a connection.

pub(crate) mod strategy;
pub(crate) mod types;
