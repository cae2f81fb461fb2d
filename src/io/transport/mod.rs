//! Transports: byte streams and listeners of each kind behind one type, so
//! the engine and the reactor do not care which one a connection uses.

pub(crate) mod inproc;
pub(crate) mod ipc;
pub(crate) mod tcp;

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsFd;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// Applies the per-connection options of the stream's transport, once it
/// is connected.
pub(crate) fn configure(stream: &Stream, options: &crate::options::Options) -> io::Result<()> {
    match stream {
        Stream::Tcp(stream) => tcp::configure(stream, options),
        Stream::Unix(stream) => ipc::configure(stream, options),
    }
}

/// A connected (or connecting) byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix domain stream socket (ipc).
    Unix(UnixStream),
}

impl Stream {
    /// The pending socket error, if any (a failed non-blocking connect).
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Stream::Tcp(s) => s.take_error(),
            Stream::Unix(s) => s.take_error(),
        }
    }

    /// Whether a non-blocking connect has completed: `Ok(false)` while it
    /// is still in progress.
    pub(crate) fn is_connected(&self) -> io::Result<bool> {
        let result = match self {
            Stream::Tcp(s) => s.peer_addr().map(drop),
            Stream::Unix(s) => s.peer_addr().map(drop),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => crate::sys::send_vectored(s, bufs),
            Stream::Unix(s) => crate::sys::send_vectored(s, bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A second handle on a connection's socket, for writing from a socket's own
/// thread (see `Pipe`'s direct path). It shares the connection's
/// non-blocking mode; dropping it does not close the connection while the
/// reactor's handle lives, and the reactor drops it when the connection ends.
#[derive(Debug)]
pub(crate) enum Writer {
    /// TCP.
    Tcp(std::net::TcpStream),
    /// ipc.
    Unix(std::os::unix::net::UnixStream),
}

impl Writer {
    /// Writes from `bufs` as far as the kernel takes it now.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Writer::Tcp(s) => crate::sys::send_vectored(s, bufs),
            Writer::Unix(s) => crate::sys::send_vectored(s, bufs),
        }
    }
}

impl Stream {
    /// A [`Writer`] on the same connection.
    pub(crate) fn writer(&self) -> io::Result<Writer> {
        Ok(match self {
            Stream::Tcp(s) => Writer::Tcp(s.as_fd().try_clone_to_owned()?.into()),
            Stream::Unix(s) => Writer::Unix(s.as_fd().try_clone_to_owned()?.into()),
        })
    }
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// ipc.
    Unix {
        /// The listening socket.
        listener: UnixListener,
        /// The socket file it made, removed when this is dropped.
        _socket_file: Option<ipc::SocketFile>,
    },
}

impl Listener {
    /// Accepts one connection, with the peer's address (tcp only: ipc
    /// peers have none), for log lines and monitor events.
    pub(crate) fn accept(&self) -> io::Result<(Stream, Option<String>)> {
        match self {
            Listener::Tcp(l) => l
                .accept()
                .map(|(stream, peer)| (Stream::Tcp(stream), Some(peer.to_string()))),
            Listener::Unix { listener: l, .. } => {
                l.accept().map(|(stream, _)| (Stream::Unix(stream), None))
            }
        }
    }
}

/// `mio::event::Source` for an enum of sources: each call goes to the one
/// the variant holds.
macro_rules! source_of_variants {
    ($ty:ty: $($variant:pat => $inner:ident),+) => {
        impl Source for $ty {
            fn register(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                match self {
                    $($variant => $inner.register(registry, token, interests)),+
                }
            }

            fn reregister(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                match self {
                    $($variant => $inner.reregister(registry, token, interests)),+
                }
            }

            fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
                match self {
                    $($variant => $inner.deregister(registry)),+
                }
            }
        }
    };
}

source_of_variants!(Stream: Stream::Tcp(s) => s, Stream::Unix(s) => s);
source_of_variants!(Listener: Listener::Tcp(l) => l, Listener::Unix { listener: l, .. } => l);
