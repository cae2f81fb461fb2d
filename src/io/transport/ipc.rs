//! ipc: Unix domain stream sockets at a file system path or (Linux) an
//! abstract name. A listener removes its socket file when it closes, and a
//! stale file left by a process that died does not stop a new bind.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mio::net::{UnixListener, UnixStream};

use crate::endpoint::{Endpoint, IpcAddr};

/// A socket file this process bound; removed when dropped (unbind, close).
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        // Already gone (removed by hand, or by a later bind that found it
        // stale) is fine.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A fresh path for `ipc://*` in the temporary directory.
fn fresh_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("zmio-{}-{n}.sock", std::process::id()))
}

/// Whether `path` is a socket file nobody listens on (its process died).
fn is_stale_socket(path: &Path) -> bool {
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    is_socket
        && matches!(
            std::os::unix::net::UnixStream::connect(path),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused
        )
}

/// What occupies `path` when a bind there failed with `error` and it is not
/// a socket (`"a regular file"`, `"a directory"`, ...); `None` when the error
/// is another one, or the path is a socket (bound by someone else).
pub(crate) fn non_socket_at(addr: &IpcAddr, error: &io::Error) -> Option<&'static str> {
    let IpcAddr::Path(path) = addr else {
        return None;
    };
    if error.kind() != io::ErrorKind::AddrInUse {
        return None;
    }
    let kind = std::fs::symlink_metadata(path).ok()?.file_type();
    if kind.is_socket() {
        return None;
    }
    Some(if kind.is_file() {
        "a regular file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a named pipe"
    } else {
        "a device file"
    })
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract ipc names exist on Linux only",
    ))
}

/// Listens at `addr`; returns the listener, the endpoint bound (the real
/// path for `ipc://*`) and the socket file to remove when it closes.
pub(crate) fn listen(addr: &IpcAddr) -> io::Result<(UnixListener, Endpoint, Option<SocketFile>)> {
    let path = match addr {
        IpcAddr::Abstract(name) => {
            let listener = UnixListener::bind_addr(&abstract_addr(name)?)?;
            return Ok((listener, Endpoint::from_ipc(addr.clone()), None));
        }
        IpcAddr::Any => fresh_path(),
        IpcAddr::Path(path) => path.clone(),
    };
    let listener = match UnixListener::bind(&path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse && is_stale_socket(&path) => {
            log::debug!("removing stale ipc socket {}", path.display());
            std::fs::remove_file(&path)?;
            UnixListener::bind(&path)?
        }
        other => other?,
    };
    let file = SocketFile { path: path.clone() };
    Ok((
        listener,
        Endpoint::from_ipc(IpcAddr::Path(path)),
        Some(file),
    ))
}

/// Starts a non-blocking connection to `addr`.
pub(crate) fn connect(addr: &IpcAddr) -> io::Result<UnixStream> {
    match addr {
        IpcAddr::Path(path) => UnixStream::connect(path),
        IpcAddr::Abstract(name) => UnixStream::connect_addr(&abstract_addr(name)?),
        IpcAddr::Any => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot connect to ipc://*",
        )),
    }
}

/// The send buffer asked for on ipc connections. A Unix stream socket queues
/// what is sent against the sender's buffer alone, and the usual default
/// (208 KiB) makes a fast sender stop and wait for the reader many times a
/// second; the kernel caps the request at `net.core.wmem_max`.
const IPC_SEND_BUFFER: usize = 1024 * 1024;

/// Per-connection settings for ipc: the buffer sizes asked for, and
/// otherwise a larger send buffer (best effort).
pub(crate) fn configure(stream: &UnixStream, options: &crate::options::Options) -> io::Result<()> {
    let sock = socket2::SockRef::from(stream);
    sock.set_send_buffer_size(options.sndbuf.unwrap_or(IPC_SEND_BUFFER))?;
    if let Some(size) = options.rcvbuf {
        sock.set_recv_buffer_size(size)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;

    #[test]
    fn an_explicit_send_buffer_wins_over_the_ipc_default() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let stream = UnixStream::from_std(a);
        let sock = socket2::SockRef::from(&stream);
        configure(&stream, &Options::default()).unwrap();
        let big = sock.send_buffer_size().unwrap();
        let options = Options {
            sndbuf: Some(16 * 1024),
            rcvbuf: Some(48 * 1024),
            ..Options::default()
        };
        configure(&stream, &options).unwrap();
        let small = sock.send_buffer_size().unwrap();
        // Linux doubles the size asked for; the 1 MiB default may be capped
        // by net.core.wmem_max, but stays above 32 KiB.
        assert!(small >= 16 * 1024 && small < big, "{small} vs {big}");
        assert!(sock.recv_buffer_size().unwrap() >= 48 * 1024);
    }
}
