//! TCP listeners and streams, with options applied through socket2.

use std::io;
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::options::Options;

/// libzmq's default ZMQ_BACKLOG.
const BACKLOG: i32 = 100;

/// TCP_NOTSENT_LOWAT: the most bytes the kernel holds for a connection that
/// it has not sent yet (the receiver's window is full). Without it, a slow
/// peer's send queue grows to megabytes (autotuned up to `tcp_wmem`), all of
/// it lost if the peer dies, where messages still in zmio would go to the
/// other peers instead: 256 KiB cut a PUSH's loss at a killed reader from
/// about 9,000 100-byte messages to about 4,000 (libzmq's: 8,000-9,000;
/// `tests/reliability.rs`), and was not measurably slower at 16 B, 4 KiB or
/// 64 KiB (128 KiB was, at 4 KiB). Data sent and not yet acknowledged does
/// not count, so the window, not this, bounds the throughput.
#[cfg(any(target_os = "android", target_os = "linux"))]
const NOTSENT_LOWAT: u32 = 256 * 1024;

/// A non-blocking listener on `addr`. An IPv6 listener is dual-stack, so `*`
/// with the IPv6 option also takes IPv4 peers (as libzmq). The buffer sizes
/// are set here, for the accepted connections to inherit (see
/// [`set_buffer_sizes`]).
pub(crate) fn listen(addr: SocketAddr, options: &Options) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    set_buffer_sizes(&socket, options)?;
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

/// A non-blocking connect to `addr` (in progress when this returns), its
/// buffer sizes set before the SYN (see [`set_buffer_sizes`]).
pub(crate) fn connect(addr: SocketAddr, options: &Options) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    set_buffer_sizes(&socket, options)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// ZMQ_SNDBUF and ZMQ_RCVBUF, set before the handshake as libzmq does: the
/// window scale is chosen from the receive buffer at the SYN, and a buffer
/// shrunk after it (to 4 KiB, say) leaves the peer a window far larger than
/// the buffer, so segments are dropped and retransmitted after timeouts (a
/// 64 KiB message took 1.6 s).
fn set_buffer_sizes(socket: &Socket, options: &Options) -> io::Result<()> {
    if let Some(size) = options.sndbuf {
        socket.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.rcvbuf {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(())
}

/// Applies the per-connection options: no Nagle delay (messages are already
/// batched), the unsent-bytes cap, type of service and keepalive as
/// configured (the buffer sizes were set before the handshake).
pub(crate) fn configure(stream: &TcpStream, options: &Options) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let sock = SockRef::from(stream);
    #[cfg(any(target_os = "android", target_os = "linux"))]
    sock.set_tcp_notsent_lowat(NOTSENT_LOWAT)?;
    if options.tos != 0 {
        set_tos(&sock, stream.local_addr()?.is_ipv6(), options.tos)?;
    }
    if let Some(on) = options.tcp_keepalive {
        sock.set_keepalive(on)?;
        if on {
            configure_keepalive(&sock, options)?;
        }
    }
    Ok(())
}

/// ZMQ_TOS: the IPv4 type of service, or the IPv6 traffic class.
fn set_tos(sock: &SockRef<'_>, ipv6: bool, tos: u32) -> io::Result<()> {
    if !ipv6 {
        return sock.set_tos_v4(tos);
    }
    #[cfg(any(
        target_os = "android",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "fuchsia",
        target_os = "linux",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "openbsd",
    ))]
    return sock.set_tclass_v6(tos);
    #[allow(unreachable_code)]
    Ok(())
}

/// The keepalive timers asked for (idle, interval, probe count), when any is.
fn configure_keepalive(sock: &SockRef<'_>, options: &Options) -> io::Result<()> {
    if options.tcp_keepalive_idle.is_none()
        && options.tcp_keepalive_intvl.is_none()
        && options.tcp_keepalive_cnt.is_none()
    {
        return Ok(());
    }
    let mut keepalive = TcpKeepalive::new();
    if let Some(idle) = options.tcp_keepalive_idle {
        keepalive = keepalive.with_time(idle);
    }
    if let Some(interval) = options.tcp_keepalive_intvl {
        keepalive = keepalive.with_interval(interval);
    }
    if let Some(count) = options.tcp_keepalive_cnt {
        keepalive = keepalive.with_retries(count);
    }
    sock.set_tcp_keepalive(&keepalive)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A connected pair of loopback streams.
    fn pair() -> (TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (TcpStream::from_std(client), server)
    }

    #[test]
    fn configure_applies_buffers_tos_and_keepalive() {
        let options = Options {
            sndbuf: Some(64 * 1024),
            rcvbuf: Some(96 * 1024),
            tos: 0x28,
            tcp_keepalive: Some(true),
            tcp_keepalive_idle: Some(Duration::from_secs(30)),
            tcp_keepalive_intvl: Some(Duration::from_secs(7)),
            tcp_keepalive_cnt: Some(4),
            ..Options::default()
        };
        let default_sndbuf = SockRef::from(&pair().0).send_buffer_size().unwrap();
        // The buffers are set before the handshake, on both ends.
        let listener = listen("127.0.0.1:0".parse().unwrap(), &options).unwrap();
        let stream = connect(listener.local_addr().unwrap(), &options).unwrap();
        let accepted = loop {
            match listener.accept() {
                Ok((accepted, _)) => break accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        };
        for end in [&stream, &accepted] {
            let sock = SockRef::from(end);
            // Linux doubles the size asked for, for its bookkeeping.
            let sndbuf = sock.send_buffer_size().unwrap();
            assert!(sndbuf >= 64 * 1024 && sndbuf != default_sndbuf, "{sndbuf}");
            assert!(sock.recv_buffer_size().unwrap() >= 96 * 1024);
        }
        configure(&stream, &options).unwrap();
        let sock = SockRef::from(&stream);
        #[cfg(any(target_os = "android", target_os = "linux"))]
        assert_eq!(sock.tcp_notsent_lowat().unwrap(), NOTSENT_LOWAT);
        assert_eq!(sock.tos_v4().unwrap(), 0x28);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(30));
        assert_eq!(
            sock.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(7)
        );
        assert_eq!(sock.tcp_keepalive_retries().unwrap(), 4);
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn configure_leaves_unset_options_alone() {
        let (stream, _server) = pair();
        let sock = SockRef::from(&stream);
        let before = (
            sock.send_buffer_size().unwrap(),
            sock.tos_v4().unwrap(),
            sock.tcp_keepalive_retries().unwrap(),
        );
        configure(&stream, &Options::default()).unwrap();
        let after = (
            sock.send_buffer_size().unwrap(),
            sock.tos_v4().unwrap(),
            sock.tcp_keepalive_retries().unwrap(),
        );
        assert_eq!(before, after);
    }
}
