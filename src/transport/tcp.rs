//! TCP listeners and streams, with options applied through socket2.

use std::io;
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::options::Options;

/// libzmq's default ZMQ_BACKLOG.
const BACKLOG: i32 = 100;

/// A non-blocking listener on `addr`. An IPv6 listener is dual-stack, so `*`
/// with the IPv6 option also takes IPv4 peers (as libzmq).
pub(crate) fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted process bind its port again while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Applies the per-connection options: no Nagle delay (messages are already
/// batched), and keepalive as configured.
pub(crate) fn configure(stream: &TcpStream, options: &Options) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let sock = SockRef::from(stream);
    if let Some(on) = options.tcp_keepalive {
        sock.set_keepalive(on)?;
        if let (true, Some(idle)) = (on, options.tcp_keepalive_idle) {
            sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
        }
    }
    Ok(())
}
