//! Routing strategies shared by the socket types (libzmq's lb, fq, dist and
//! subscription trie), each over in-memory pipes with no reactor in sight.

pub(crate) mod distributor;
pub(crate) mod fair_queue;
pub(crate) mod load_balance;
pub(crate) mod router_table;
pub(crate) mod sub_trie;
