//! Endpoint strings (`tcp://host:port`, `ipc://path`), parsed at the call so
//! a malformed one is an error there and never a surprise later.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// The host part of a TCP endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// `*`: every local interface (bind only).
    Any,
    /// An IPv4 or IPv6 address (IPv6 written in brackets).
    Ip(IpAddr),
    /// A DNS name, resolved when binding or at each connection attempt.
    Name(String),
}

/// A transport zmio speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// `tcp://HOST:PORT`: TCP over IPv4 or IPv6.
    Tcp,
    /// `ipc://PATH`: a Unix domain stream socket (local processes).
    Ipc,
    /// `inproc://NAME`: sockets of one [`Context`](crate::Context), in
    /// one process; messages pass between threads without system calls.
    Inproc,
}

/// Where an ipc endpoint lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IpcAddr {
    /// A file system path.
    Path(PathBuf),
    /// `@name`: Linux's abstract namespace (no file; gone with its listener).
    Abstract(Vec<u8>),
    /// `*` (bind only): a fresh path in the temporary directory.
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Addr {
    Tcp {
        host: Host,
        /// `None` for `*` or `0`: an ephemeral port chosen at bind time.
        port: Option<u16>,
    },
    Ipc(IpcAddr),
    /// The name after `inproc://`.
    Inproc(String),
}

/// A parsed endpoint: `tcp://HOST:PORT` or `ipc://PATH`.
///
/// ```
/// use zmio::{Endpoint, Transport};
/// let ep: Endpoint = "tcp://127.0.0.1:5555".parse().unwrap();
/// assert_eq!(ep.port(), Some(5555));
/// assert!("tcp://127.0.0.1".parse::<Endpoint>().is_err());
/// let local: Endpoint = "ipc:///tmp/service.sock".parse().unwrap();
/// assert_eq!(local.transport(), Transport::Ipc);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    addr: Addr,
}

/// The longest ipc path: `sun_path` holds 108 bytes with the closing NUL.
const MAX_IPC_PATH: usize = 107;

fn invalid(endpoint: &str, reason: impl Into<String>) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.into(),
    }
}

fn parse_ipc(s: &str, rest: &str) -> Result<Endpoint> {
    let addr = if rest.is_empty() {
        return Err(invalid(s, "expected ipc://PATH, e.g. ipc:///tmp/zmio.sock"));
    } else if rest.len() > MAX_IPC_PATH {
        return Err(invalid(
            s,
            format!("an ipc path has at most {MAX_IPC_PATH} bytes"),
        ));
    } else if rest.contains('\0') {
        return Err(invalid(s, "an ipc path cannot contain a NUL byte"));
    } else if rest == "*" {
        IpcAddr::Any
    } else if let Some(name) = rest.strip_prefix('@') {
        if !cfg!(any(target_os = "linux", target_os = "android")) {
            return Err(invalid(s, "abstract ipc names (@name) exist on Linux only"));
        }
        if name.is_empty() {
            return Err(invalid(s, "an abstract ipc name needs a name after `@`"));
        }
        IpcAddr::Abstract(name.as_bytes().to_vec())
    } else {
        IpcAddr::Path(PathBuf::from(rest))
    };
    Ok(Endpoint {
        addr: Addr::Ipc(addr),
    })
}

/// The longest inproc name accepted (libzmq sets none; this keeps a name
/// from being a memory sink).
const MAX_INPROC_NAME: usize = 256;

fn parse_inproc(s: &str, name: &str) -> Result<Endpoint> {
    if name.is_empty() {
        return Err(invalid(s, "expected inproc://NAME"));
    }
    if name.len() > MAX_INPROC_NAME {
        return Err(invalid(
            s,
            format!("an inproc name has at most {MAX_INPROC_NAME} bytes"),
        ));
    }
    if name == "*" {
        return Err(invalid(s, "inproc has no wildcard: name the endpoint"));
    }
    Ok(Endpoint {
        addr: Addr::Inproc(name.to_owned()),
    })
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Endpoint> {
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(invalid(
                s,
                "expected TRANSPORT://ADDRESS, e.g. tcp://127.0.0.1:5555",
            ));
        };
        match scheme {
            "tcp" => {}
            "ipc" => return parse_ipc(s, rest),
            "inproc" => return parse_inproc(s, rest),
            "pgm" | "epgm" | "vmci" | "udp" | "ws" | "wss" | "tipc" => {
                return Err(Error::UnsupportedTransport(s.to_owned()));
            }
            _ => return Err(invalid(s, format!("unknown transport `{scheme}`"))),
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let Some((addr, port)) = bracketed.split_once("]:") else {
                return Err(invalid(s, "expected [IPV6]:PORT"));
            };
            let ip: Ipv6Addr = addr
                .parse()
                .map_err(|_| invalid(s, format!("`{addr}` is not an IPv6 address")))?;
            (Host::Ip(IpAddr::V6(ip)), port)
        } else {
            let Some((host, port)) = rest.rsplit_once(':') else {
                return Err(invalid(s, "missing `:PORT`"));
            };
            let host = if host == "*" {
                Host::Any
            } else if let Ok(ip) = host.parse::<IpAddr>() {
                if ip.is_ipv6() {
                    return Err(invalid(s, "write an IPv6 address in brackets: [::1]:PORT"));
                }
                Host::Ip(ip)
            } else if !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
            {
                Host::Name(host.to_owned())
            } else {
                return Err(invalid(
                    s,
                    format!("`{host}` is not a host name or IP address"),
                ));
            };
            (host, port)
        };
        let port = match port {
            "*" | "0" => None,
            p => match p.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => return Err(invalid(s, format!("`{p}` is not a port (1-65535, or *)"))),
            },
        };
        Ok(Endpoint {
            addr: Addr::Tcp { host, port },
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (host, port) = match &self.addr {
            Addr::Tcp { host, port } => (host, port),
            Addr::Ipc(IpcAddr::Any) => return f.write_str("ipc://*"),
            Addr::Ipc(IpcAddr::Path(path)) => return write!(f, "ipc://{}", path.display()),
            Addr::Ipc(IpcAddr::Abstract(name)) => {
                return write!(f, "ipc://@{}", String::from_utf8_lossy(name));
            }
            Addr::Inproc(name) => return write!(f, "inproc://{name}"),
        };
        f.write_str("tcp://")?;
        match host {
            Host::Any => f.write_str("*")?,
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}")?,
            Host::Name(name) => f.write_str(name)?,
        }
        match port {
            Some(p) => write!(f, ":{p}"),
            None => f.write_str(":*"),
        }
    }
}

impl Endpoint {
    /// The transport.
    pub fn transport(&self) -> Transport {
        match self.addr {
            Addr::Tcp { .. } => Transport::Tcp,
            Addr::Ipc(_) => Transport::Ipc,
            Addr::Inproc(_) => Transport::Inproc,
        }
    }

    /// The host of a tcp endpoint.
    pub fn host(&self) -> Option<&Host> {
        match &self.addr {
            Addr::Tcp { host, .. } => Some(host),
            _ => None,
        }
    }

    /// The port of a tcp endpoint; `None` for an ephemeral one (`*` or `0`)
    /// and for ipc.
    pub fn port(&self) -> Option<u16> {
        match &self.addr {
            Addr::Tcp { port, .. } => *port,
            _ => None,
        }
    }

    /// The file system path of an ipc endpoint (not of `ipc://*` before it
    /// is bound, nor of an abstract `ipc://@name`).
    pub fn ipc_path(&self) -> Option<&Path> {
        match &self.addr {
            Addr::Ipc(IpcAddr::Path(path)) => Some(path),
            _ => None,
        }
    }

    /// Whether binding this lets the system pick the address (`tcp` port `*`
    /// or `0`, `ipc://*`): the address bound is then only known from what
    /// `bind` returns.
    pub fn is_wildcard(&self) -> bool {
        matches!(
            self.addr,
            Addr::Tcp { port: None, .. } | Addr::Ipc(IpcAddr::Any)
        )
    }

    /// The ipc address, for ipc endpoints.
    pub(crate) fn ipc_addr(&self) -> Option<&IpcAddr> {
        match &self.addr {
            Addr::Ipc(addr) => Some(addr),
            _ => None,
        }
    }

    /// The name of an inproc endpoint.
    pub(crate) fn inproc_name(&self) -> Option<&str> {
        match &self.addr {
            Addr::Inproc(name) => Some(name),
            _ => None,
        }
    }

    /// An ipc endpoint for a bound path or abstract name.
    pub(crate) fn from_ipc(addr: IpcAddr) -> Endpoint {
        Endpoint {
            addr: Addr::Ipc(addr),
        }
    }

    /// The endpoint of a bound or connected socket address, in libzmq's
    /// form (`tcp://127.0.0.1:5555`, `tcp://[::1]:5555`; an IPv4-mapped
    /// IPv6 address is written as IPv4).
    pub(crate) fn from_socket_addr(addr: SocketAddr) -> Endpoint {
        let ip = match addr.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        Endpoint {
            addr: Addr::Tcp {
                host: Host::Ip(ip),
                port: Some(addr.port()),
            },
        }
    }

    /// The tcp address to bind: `*` is every interface (dual-stack with `ipv6`).
    pub(crate) fn bind_addr(&self, ipv6: bool) -> Result<SocketAddr> {
        let Addr::Tcp { host, port } = &self.addr else {
            return Err(invalid(&self.to_string(), "not a tcp endpoint"));
        };
        let port = port.unwrap_or(0);
        match host {
            Host::Any if ipv6 => Ok(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port)),
            Host::Any => Ok(SocketAddr::new(
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                port,
            )),
            Host::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
            Host::Name(_) => self.resolve(ipv6).and_then(|addrs| {
                addrs
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::Resolve(self.to_string()))
            }),
        }
    }

    /// Checks the endpoint can be connected to (tcp: a port and a host that
    /// is not `*`; ipc: not `*`).
    pub(crate) fn check_connectable(&self) -> Result<()> {
        let s = self.to_string();
        match &self.addr {
            Addr::Tcp { port: None, .. } => {
                Err(invalid(&s, "connect needs a port number, not `*` or 0"))
            }
            Addr::Tcp {
                host: Host::Any, ..
            } => Err(invalid(&s, "connect needs a host, not `*`")),
            Addr::Ipc(IpcAddr::Any) => Err(invalid(&s, "connect needs a path, not `*`")),
            _ => Ok(()),
        }
    }

    /// The peer addresses for a tcp connection attempt: IPv4 ones only unless
    /// `ipv6` is set (as libzmq), IPv4 first.
    pub(crate) fn resolve(&self, ipv6: bool) -> Result<Vec<SocketAddr>> {
        let Addr::Tcp { host, port } = &self.addr else {
            return Err(Error::Resolve(self.to_string()));
        };
        let port = port.unwrap_or(0);
        match host {
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
            Host::Any => Err(Error::Resolve(self.to_string())),
            Host::Name(name) => {
                let mut addrs: Vec<SocketAddr> = (name.as_str(), port)
                    .to_socket_addrs()
                    .map_err(|_| Error::Resolve(name.clone()))?
                    .filter(|a| ipv6 || a.is_ipv4())
                    .collect();
                addrs.sort_by_key(|a| a.is_ipv6());
                if addrs.is_empty() {
                    return Err(Error::Resolve(name.clone()));
                }
                Ok(addrs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Result<Endpoint> {
        s.parse()
    }

    #[test]
    fn parses_the_forms_libzmq_accepts() {
        assert_eq!(ep("tcp://*:5555").unwrap().host(), Some(&Host::Any));
        assert_eq!(ep("tcp://*:*").unwrap().port(), None);
        assert_eq!(ep("tcp://127.0.0.1:0").unwrap().port(), None);
        assert_eq!(
            ep("tcp://[::1]:7").unwrap().host(),
            Some(&Host::Ip("::1".parse().unwrap()))
        );
        assert_eq!(
            ep("tcp://localhost:80").unwrap().host(),
            Some(&Host::Name("localhost".into()))
        );
    }

    #[test]
    fn refuses_malformed_endpoints() {
        for bad in [
            "",
            "tcp:/x:1",
            "tcp://",
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:",
            "tcp://127.0.0.1:65536",
            "tcp://127.0.0.1:-1",
            "tcp://:5555",
            "tcp://::1:5555",
            "tcp://[::1:5555",
            "tcp://[nope]:5555",
            "tcp://a b:1",
            "foo://x:1",
        ] {
            assert!(
                matches!(ep(bad), Err(Error::InvalidEndpoint { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            ep("pgm://eth0;239.192.1.1:5555"),
            Err(Error::UnsupportedTransport(_))
        ));
        let long_name = format!("inproc://{}", "n".repeat(MAX_INPROC_NAME + 1));
        for bad in ["inproc://", "inproc://*", long_name.as_str()] {
            assert!(
                matches!(ep(bad), Err(Error::InvalidEndpoint { .. })),
                "{bad:?}"
            );
        }
        let long = format!("ipc:///{}", "a".repeat(MAX_IPC_PATH));
        for bad in ["ipc://", "ipc://a\0b", long.as_str(), "ipc://@"] {
            assert!(
                matches!(ep(bad), Err(Error::InvalidEndpoint { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn inproc_endpoints_parse_and_print_back() {
        for s in [
            "inproc://a",
            "inproc://with spaces/and:colons",
            "inproc://ünïcode",
        ] {
            let e = ep(s).unwrap();
            assert_eq!(e.transport(), Transport::Inproc);
            assert_eq!(e.to_string(), s);
            assert_eq!(e.port(), None);
            assert!(!e.is_wildcard());
        }
    }

    #[test]
    fn ipc_endpoints_parse_and_print_back() {
        for s in [
            "ipc:///tmp/zmio.sock",
            "ipc://relative/path",
            "ipc://*",
            "ipc://@name",
        ] {
            let e = ep(s).unwrap();
            assert_eq!(e.transport(), Transport::Ipc);
            assert_eq!(e.to_string(), s);
            assert_eq!(e.host(), None);
        }
        assert_eq!(
            ep("ipc:///tmp/zmio.sock").unwrap().ipc_path(),
            Some(Path::new("/tmp/zmio.sock"))
        );
        assert!(ep("ipc://*").unwrap().is_wildcard());
        assert!(ep("ipc://*").unwrap().check_connectable().is_err());
        assert!(ep("ipc:///x").unwrap().check_connectable().is_ok());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "tcp://*:*",
            "tcp://[::1]:9",
            "tcp://10.0.0.1:80",
            "tcp://host:1",
        ] {
            assert_eq!(ep(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn connect_needs_host_and_port() {
        assert!(ep("tcp://*:1").unwrap().check_connectable().is_err());
        assert!(ep("tcp://h:*").unwrap().check_connectable().is_err());
        assert!(ep("tcp://h:1").unwrap().check_connectable().is_ok());
    }

    #[test]
    fn mapped_addresses_are_written_as_ipv4() {
        let addr: SocketAddr = "[::ffff:127.0.0.1]:5".parse().unwrap();
        assert_eq!(
            Endpoint::from_socket_addr(addr).to_string(),
            "tcp://127.0.0.1:5"
        );
    }
}
