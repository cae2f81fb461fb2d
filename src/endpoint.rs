//! Endpoint strings (`tcp://host:port`), parsed at the call so a malformed one
//! is an error there and never a surprise later.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
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

/// A parsed endpoint. Only `tcp://` exists so far.
///
/// ```
/// use zmio::Endpoint;
/// let ep: Endpoint = "tcp://127.0.0.1:5555".parse().unwrap();
/// assert_eq!(ep.port(), Some(5555));
/// assert!("tcp://127.0.0.1".parse::<Endpoint>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    host: Host,
    /// `None` for `*` or `0`: an ephemeral port chosen at bind time.
    port: Option<u16>,
}

fn invalid(endpoint: &str, reason: impl Into<String>) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.into(),
    }
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
            "ipc" | "inproc" | "pgm" | "epgm" | "vmci" | "udp" | "ws" | "wss" | "tipc" => {
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
        Ok(Endpoint { host, port })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tcp://")?;
        match &self.host {
            Host::Any => f.write_str("*")?,
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}")?,
            Host::Name(name) => f.write_str(name)?,
        }
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => f.write_str(":*"),
        }
    }
}

impl Endpoint {
    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port, `None` for an ephemeral one (`*` or `0`).
    pub fn port(&self) -> Option<u16> {
        self.port
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
            host: Host::Ip(ip),
            port: Some(addr.port()),
        }
    }

    /// The addresses to bind: `*` is every interface (dual-stack with `ipv6`).
    pub(crate) fn bind_addr(&self, ipv6: bool) -> Result<SocketAddr> {
        let port = self.port.unwrap_or(0);
        match &self.host {
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

    /// Checks the endpoint can be connected to (a port and a host that is not `*`).
    pub(crate) fn check_connectable(&self) -> Result<()> {
        let s = self.to_string();
        if self.port.is_none() {
            return Err(invalid(&s, "connect needs a port number, not `*` or 0"));
        }
        if self.host == Host::Any {
            return Err(invalid(&s, "connect needs a host, not `*`"));
        }
        Ok(())
    }

    /// The peer addresses for a connection attempt: IPv4 ones only unless
    /// `ipv6` is set (as libzmq), IPv4 first.
    pub(crate) fn resolve(&self, ipv6: bool) -> Result<Vec<SocketAddr>> {
        let port = self.port.unwrap_or(0);
        match &self.host {
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
        assert_eq!(ep("tcp://*:5555").unwrap().host, Host::Any);
        assert_eq!(ep("tcp://*:*").unwrap().port, None);
        assert_eq!(ep("tcp://127.0.0.1:0").unwrap().port, None);
        assert_eq!(
            ep("tcp://[::1]:7").unwrap().host,
            Host::Ip("::1".parse().unwrap())
        );
        assert_eq!(
            ep("tcp://localhost:80").unwrap().host,
            Host::Name("localhost".into())
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
            ep("ipc:///tmp/x"),
            Err(Error::UnsupportedTransport(_))
        ));
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
