//! Where a socket is attached: bind, connect, unbind and disconnect over
//! tcp, ipc and inproc, and the endpoints it remembers.

use super::*;

#[derive(Debug)]
pub(super) struct Bound {
    /// As the user wrote it.
    pub(super) given: String,
    /// As resolved (`tcp://127.0.0.1:5555`), the listener's key.
    pub(super) resolved: String,
}

impl<T: SocketType> Socket<T> {
    /// Listens on `endpoint`: `tcp://HOST:PORT` (HOST may be `*`, an IPv4
    /// address, `[IPv6]` or a name; PORT may be `*` or `0` for an ephemeral
    /// port) or `ipc://PATH` (a Unix domain socket; `ipc://*` picks a fresh
    /// path in the temporary directory, `ipc://@name` is Linux's abstract
    /// namespace) or `inproc://NAME` (sockets of this socket's context;
    /// [`Error::AddrInUse`] if the name is bound already). Returns the endpoint actually bound, e.g.
    /// `tcp://127.0.0.1:41234`. The socket file of an ipc bind is removed on
    /// unbind and close; a stale one left by a dead process is replaced.
    pub fn bind(&mut self, endpoint: &str) -> Result<Endpoint> {
        self.bind_listener(endpoint).inspect_err(|e| {
            self.shared.monitor.emit(|| MonitorEvent {
                endpoint: endpoint.to_owned(),
                peer: None,
                kind: MonitorEventKind::BindFailed {
                    error: e.to_string(),
                },
            });
        })
    }

    fn bind_listener(&mut self, endpoint: &str) -> Result<Endpoint> {
        let parsed: Endpoint = endpoint.parse()?;
        if let Some(name) = parsed.inproc_name() {
            return self.bind_inproc(name, endpoint, parsed.clone());
        }
        let bind_error = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_owned()),
            std::io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable(endpoint.to_owned()),
            _ => Error::Io(e),
        };
        let (listener, bound) = match parsed.ipc_addr() {
            Some(addr) => {
                let (listener, bound, file) =
                    ipc::listen(addr).map_err(|e| match ipc::non_socket_at(addr, &e) {
                        Some(found) => Error::NotASocket {
                            endpoint: endpoint.to_owned(),
                            found,
                        },
                        None => bind_error(e),
                    })?;
                (
                    Listener::Unix {
                        listener,
                        _socket_file: file,
                    },
                    bound,
                )
            }
            None => {
                let listener = tcp::listen(parsed.bind_addr(self.options.ipv6)?, &self.options)
                    .map_err(bind_error)?;
                let bound = Endpoint::from_socket_addr(listener.local_addr()?);
                (Listener::Tcp(listener), bound)
            }
        };
        let resolved = bound.to_string();
        self.reactor.send(Command::Bind {
            socket_id: self.id,
            socket: self.shared.clone(),
            listener,
            endpoint: resolved.clone(),
            options: Arc::new(self.options.clone()),
        });
        self.binds.push(Bound {
            given: endpoint.to_owned(),
            resolved: resolved.clone(),
        });
        self.last_endpoint = Some(resolved);
        Ok(bound)
    }

    /// Connects to `endpoint`, now or whenever the peer appears, and again
    /// after every disconnection. Messages sent meanwhile wait in this
    /// connection's queue (up to the send high water mark). An
    /// `inproc://NAME` connect joins the socket bound at NAME in this
    /// context, now or when it binds; it fails with
    /// [`Error::IncompatibleSocketType`] if that socket's type cannot talk
    /// to this one, and does not come back after the binder closes (as in libzmq).
    pub fn connect(&mut self, endpoint: &str) -> Result<()> {
        let parsed: Endpoint = endpoint.parse()?;
        if let Some(name) = parsed.inproc_name() {
            return self.connect_inproc(name, endpoint);
        }
        parsed.check_connectable()?;
        let pipe = Pipe::with_options(&self.options, &self.shared.owner(), self.reactor.clone());
        self.connects.push((endpoint.to_owned(), pipe.id()));
        self.reactor.send(Command::Connect {
            socket_id: self.id,
            socket: self.shared.clone(),
            endpoint: parsed,
            pipe: pipe.clone(),
            options: Arc::new(self.options.clone()),
        });
        // After the reactor knows the pipe, so a policy that refuses it (a
        // PAIR's second peer) can have it closed. No event for it can be
        // handled before this: events are read on this thread.
        self.routing.attach(pipe);
        self.last_endpoint = Some(endpoint.to_owned());
        Ok(())
    }

    /// Stops listening on an endpoint given to [`bind`](Self::bind) (as
    /// written there, or as it returned) and closes the connections it accepted.
    pub fn unbind(&mut self, endpoint: &str) -> Result<()> {
        let i = self
            .binds
            .iter()
            .position(|b| b.given == endpoint || b.resolved == endpoint)
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_owned()))?;
        let bound = self.binds.remove(i);
        if let Some(name) = bound.resolved.strip_prefix("inproc://") {
            self.context.inproc().unbind(name, self.id);
            let name = bound.resolved.as_str();
            for (_, pipe) in self
                .inproc
                .iter()
                .filter(|(accepted, p)| *accepted && p.inproc_endpoint() == Some(name))
            {
                pipe.close_inproc();
            }
            return Ok(());
        }
        self.reactor_call(|done| Command::Unbind {
            socket_id: self.id,
            endpoint: bound.resolved,
            done,
        });
        Ok(())
    }

    /// Drops a connection made with [`connect`](Self::connect); messages
    /// still queued for it are discarded.
    pub fn disconnect(&mut self, endpoint: &str) -> Result<()> {
        let i = self
            .connects
            .iter()
            .position(|(given, _)| given == endpoint)
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_owned()))?;
        let (_, pipe) = self.connects.remove(i);
        self.routing.detach(pipe);
        if let Some(at) = self.inproc.iter().position(|(_, p)| p.id() == pipe) {
            let (_, inproc) = self.inproc.swap_remove(at);
            self.context.inproc().forget_pending(&inproc);
            inproc.close_inproc();
        } else {
            self.reactor.send(Command::Disconnect { pipe });
        }
        Ok(())
    }

    fn bind_inproc(&mut self, name: &str, given: &str, parsed: Endpoint) -> Result<Endpoint> {
        let binding = crate::io::transport::inproc::Binding {
            socket_id: self.id,
            socket: self.shared.clone(),
            owner: self.shared.owner(),
            sndhwm: self.options.sndhwm,
            rcvhwm: self.options.rcvhwm,
            conflate: self.options.conflate,
            immediate: self.options.immediate,
            routing_id: self.routing_id_for_peer(),
        };
        let waiting = self.context.inproc().bind(name, binding)?;
        for pipe in waiting {
            self.inproc.push((true, pipe.clone()));
            self.routing.attach(pipe);
        }
        let resolved = parsed.to_string();
        self.binds.push(Bound {
            given: given.to_owned(),
            resolved: resolved.clone(),
        });
        self.last_endpoint = Some(resolved);
        Ok(parsed)
    }

    fn connect_inproc(&mut self, name: &str, given: &str) -> Result<()> {
        let pipe = Pipe::inproc(
            &format!("inproc://{name}"),
            &self.options,
            &self.shared.owner(),
        );
        self.context.inproc().connect(
            name,
            self.id,
            &self.shared,
            &pipe,
            self.routing_id_for_peer(),
        )?;
        self.connects.push((given.to_owned(), pipe.id()));
        self.inproc.push((false, pipe.clone()));
        self.routing.attach(pipe);
        self.last_endpoint = Some(given.to_owned());
        Ok(())
    }

    /// The routing id an inproc peer sees, as a READY's Identity would carry it.
    pub(super) fn routing_id_for_peer(&self) -> Option<Bytes> {
        (!self.options.routing_id.is_empty()).then(|| self.options.routing_id.clone())
    }

    /// The endpoint of the last bind (resolved) or connect (ZMQ_LAST_ENDPOINT).
    pub fn last_endpoint(&self) -> Option<&str> {
        self.last_endpoint.as_deref()
    }
}
