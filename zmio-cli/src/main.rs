//! `zmio`: a zmio socket driven from the shell. Senders read one message per
//! line from stdin; receivers print one per line on stdout; TAB separates the
//! frames of a multipart message. `zmio --help` and docs/cli.md say the rest.
//!
//! Exit status: 0 done, 1 runtime error, 2 bad arguments or unusable
//! endpoint, 3 receive timeout (`-t`). An error is one line on stderr.
//! SIGINT or SIGTERM: senders deliver what is queued (within `--linger`)
//! and then end by that signal (128 + its number); see `interrupt`.

// Bad input is an error line and an exit status, never a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod args;
mod interrupt;
mod lines;

use std::io::{self, Write};
use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::Duration;

use std::sync::mpsc;
use std::time::Instant;

use bytes::Bytes;
use zmio::{
    Context, Dealer, Endpoint, Host, Msg, Pair, PollEvents, PollItem, Pub, Pull, Push,
    RecvSocketType, Rep, Req, Router, SendSocketType, Socket, SocketType, Sub, Transport, XPub,
    XSub,
};

use crate::args::{Attach, Invocation, RunOptions, SocketType as CliSocketType};
use crate::interrupt::{Input, Interrupt};
use crate::lines::{LineReader, LineWriter};

/// Why a run ended early.
#[derive(Debug)]
enum Failure {
    /// Bad arguments or an unusable endpoint: exit 2.
    Usage(String),
    /// Something failed while running: exit 1.
    Runtime(String),
    /// `-t` expired with no message: exit 3, silently (it is an expected end).
    TimedOut,
    /// Whoever reads stdout has gone (`zmio pull ... | head -1`): nobody is
    /// left to tell, so exit 0 silently, as other filters do.
    OutputClosed,
    /// SIGINT or SIGTERM (the number) ended a sender's input; what it had
    /// queued was delivered within its linger. The process then ends by
    /// that signal.
    Interrupted(i32),
}

impl Failure {
    fn runtime(what: &str, error: impl std::fmt::Display) -> Failure {
        Failure::Runtime(format!("{what}: {error}"))
    }

    /// A failed `recv`: the idle timer is exit 3, anything else exit 1.
    fn receiving(error: zmio::Error) -> Failure {
        match error {
            zmio::Error::TimedOut | zmio::Error::WouldBlock => Failure::TimedOut,
            other => Failure::runtime("receive failed", other),
        }
    }

    fn sending(error: zmio::Error) -> Failure {
        Failure::runtime("send failed", error)
    }

    fn reading(error: io::Error) -> Failure {
        Failure::runtime("cannot read stdin", error)
    }

    fn writing(error: io::Error) -> Failure {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Failure::OutputClosed
        } else {
            Failure::runtime("cannot write to stdout", error)
        }
    }
}

/// Prints `zmio: MESSAGE` on stderr as exactly one line. Failing to write to
/// stderr is ignored: there is nowhere left to report it.
fn print_error(message: &str) {
    let one_line: String = message
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let _ = writeln!(io::stderr(), "zmio: {one_line}");
}

fn main() -> ExitCode {
    let options = match args::parse(std::env::args_os().skip(1)) {
        Ok(Invocation::Run(options)) => options,
        Ok(Invocation::Help) => return print_stdout(args::USAGE),
        Ok(Invocation::Version) => {
            return print_stdout(&format!("zmio {}\n", env!("CARGO_PKG_VERSION")));
        }
        Err(error) => {
            print_error(&error.to_string());
            return ExitCode::from(2);
        }
    };
    init_logging(options.verbose);
    let result = run(&options);
    if let Some(signo) = interrupt::taken() {
        // Whatever the run's end, a signal asked for it: end by the signal
        // (an error of the run is still reported first).
        if let Err(Failure::Usage(message) | Failure::Runtime(message)) = &result {
            print_error(message);
        }
        interrupt::die_by(signo);
    }
    match result {
        Ok(()) | Err(Failure::OutputClosed) => ExitCode::SUCCESS,
        Err(Failure::TimedOut) => {
            log::info!("no message for {:?}: exiting", options.timeout);
            ExitCode::from(3)
        }
        Err(Failure::Usage(message)) => {
            print_error(&message);
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            print_error(&message);
            ExitCode::from(1)
        }
        Err(Failure::Interrupted(signo)) => interrupt::die_by(signo),
    }
}

/// Writes help or version text; a closed stdout is not worth a complaint.
fn print_stdout(text: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    ExitCode::SUCCESS
}

/// `-v` logs zmio's debug output; RUST_LOG, when set, chooses instead.
/// Without either, nothing is logged, so stderr carries only the `bound:`
/// lines and errors that scripts read.
fn init_logging(verbose: bool) {
    let default_filter = if verbose { "debug" } else { "off" };
    let _ =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter))
            .try_init();
}

/// Runs the socket the options describe until it is done.
fn run(options: &RunOptions) -> Result<(), Failure> {
    let context = Context::new().map_err(|e| Failure::runtime("cannot start", e))?;
    let result = match options.socket_type {
        CliSocketType::Push => send_lines(open::<Push>(&context, options, no_setup)?, options),
        CliSocketType::Pub => send_lines(open::<Pub>(&context, options, no_setup)?, options),
        CliSocketType::Pull => print_messages(open::<Pull>(&context, options, no_setup)?, options),
        CliSocketType::Sub => {
            let subscribe = |sub: &mut Socket<Sub>| subscribe(sub, &options.subscriptions);
            print_messages(open(&context, options, subscribe)?, options)
        }
        CliSocketType::Req => send_requests(open::<Req>(&context, options, no_setup)?, options),
        CliSocketType::Rep => echo_requests(open::<Rep>(&context, options, no_setup)?, options),
        CliSocketType::Dealer => {
            let socket = open::<Dealer>(&context, options, no_setup)?;
            duplex(socket, options, Ok, |msg| msg)
        }
        CliSocketType::Pair => {
            let socket = open::<Pair>(&context, options, no_setup)?;
            duplex(socket, options, Ok, |msg| msg)
        }
        CliSocketType::Router => {
            let socket = open::<Router>(&context, options, no_setup)?;
            duplex(socket, options, id_from_hex, id_to_hex)
        }
        CliSocketType::XPub => {
            let socket = open::<XPub>(&context, options, no_setup)?;
            duplex(socket, options, Ok, subscription_to_text)
        }
        CliSocketType::XSub => {
            let socket = open::<XSub>(&context, options, no_setup)?;
            duplex(
                socket,
                options,
                |msg| Ok(text_to_subscription(msg)),
                |msg| msg,
            )
        }
    };
    // Every socket is closed by now; dropping the context waits for them to
    // deliver what they queued, up to their linger.
    drop(context);
    result
}

/// For socket types with nothing to set up beyond the common options.
fn no_setup<T: SocketType>(_: &mut Socket<T>) -> Result<(), Failure> {
    Ok(())
}

/// A socket with the options set, `setup` run (a SUB subscribes there), and
/// bound and connected as asked. Prints a `bound:` line for each ephemeral
/// port once every endpoint has worked, so a failed run prints only its error.
fn open<T: SocketType>(
    context: &Context,
    options: &RunOptions,
    setup: impl FnOnce(&mut Socket<T>) -> Result<(), Failure>,
) -> Result<Socket<T>, Failure> {
    let mut socket = context
        .socket::<T>()
        .map_err(|e| Failure::runtime("cannot create the socket", e))?;
    let bound_lines = match prepare(&mut socket, options, setup) {
        Ok(bound_lines) => bound_lines,
        Err(failure) => {
            // An earlier connect may have queued something (a SUB's
            // subscriptions) that the default linger would wait for forever.
            close(socket, false);
            return Err(failure);
        }
    };
    let mut stderr = io::stderr().lock();
    for line in bound_lines {
        let _ = writeln!(stderr, "{line}");
    }
    Ok(socket)
}

/// Sets the options, runs `setup`, binds and connects; returns the
/// `bound:` lines to print.
fn prepare<T: SocketType>(
    socket: &mut Socket<T>,
    options: &RunOptions,
    setup: impl FnOnce(&mut Socket<T>) -> Result<(), Failure>,
) -> Result<Vec<String>, Failure> {
    let option_failure = |e| Failure::Usage(format!("bad option: {e}"));
    if let Some(sndhwm) = options.sndhwm {
        socket.set_sndhwm(sndhwm).map_err(option_failure)?;
    }
    if let Some(rcvhwm) = options.rcvhwm {
        socket.set_rcvhwm(rcvhwm).map_err(option_failure)?;
    }
    if let Some(linger) = options.linger {
        socket.set_linger(linger).map_err(option_failure)?;
    }
    // The receive timeout restarts with every `recv`, which makes `-t` an
    // idle timer.
    socket
        .set_rcvtimeo(options.timeout)
        .map_err(option_failure)?;
    setup(socket)?;

    let mut bound_lines = Vec::new();
    for arg in &options.endpoints {
        match arg.attach {
            Attach::Bind => {
                let bound = socket
                    .bind(&arg.endpoint)
                    .map_err(|e| Failure::Usage(format!("cannot bind: {e}")))?;
                log::info!("{} bound to {bound}", options.socket_type.name());
                bound_lines.extend(bound_line(&arg.endpoint, &bound));
            }
            Attach::Connect => {
                check_resolves(&arg.endpoint)?;
                socket
                    .connect(&arg.endpoint)
                    .map_err(|e| Failure::Usage(format!("cannot connect: {e}")))?;
                log::info!(
                    "{} connecting to {}",
                    options.socket_type.name(),
                    arg.endpoint
                );
            }
        }
    }
    Ok(bound_lines)
}

/// Subscribes a SUB socket to each `-s` prefix, before it connects.
fn subscribe(sub: &mut Socket<Sub>, prefixes: &[Vec<u8>]) -> Result<(), Failure> {
    // No -s means everything, the empty prefix.
    let everything = [Vec::new()];
    let prefixes = if prefixes.is_empty() {
        &everything[..]
    } else {
        prefixes
    };
    for prefix in prefixes {
        sub.subscribe(prefix)
            .map_err(|e| Failure::runtime("cannot subscribe", e))?;
    }
    Ok(())
}

/// `bound: tcp://HOST:PORT` for a bind to port `*` or 0, with HOST as the
/// user wrote it (`*`, `localhost`, `[::1]`), so a script can reuse it.
fn bound_line(given: &str, bound: &Endpoint) -> Option<String> {
    let requested: Endpoint = given.parse().ok()?;
    if !requested.is_wildcard() {
        return None;
    }
    // `ipc://*`: the fresh path the library picked.
    if requested.transport() == Transport::Ipc {
        return Some(format!("bound: {bound}"));
    }
    let (host, _) = given.strip_prefix("tcp://")?.rsplit_once(':')?;
    Some(format!("bound: tcp://{host}:{}", bound.port()?))
}

/// The library resolves a host name at each connection attempt and retries
/// forever; for a command a name that cannot resolve now is a typo to
/// report, not a peer to wait for.
fn check_resolves(endpoint: &str) -> Result<(), Failure> {
    let Ok(parsed) = endpoint.parse::<Endpoint>() else {
        return Ok(());
    };
    let (Some(Host::Name(name)), Some(port)) = (parsed.host(), parsed.port()) else {
        return Ok(());
    };
    match (name.as_str(), port).to_socket_addrs() {
        Ok(addrs) if addrs.len() > 0 => Ok(()),
        _ => Err(Failure::Usage(format!(
            "cannot connect: cannot resolve `{name}` in `{endpoint}`"
        ))),
    }
}

/// Closes a socket: with its linger if the run went well and it may still
/// hold messages of its own, at once otherwise (a failed run has nothing
/// worth waiting for, and a receiver has nothing of its own to deliver).
fn close<T: SocketType>(mut socket: Socket<T>, deliver_queued: bool) {
    if !deliver_queued {
        // Only fails for invalid values; zero is valid.
        let _ = socket.set_linger(Some(Duration::ZERO));
    }
    drop(socket);
}

/// `-w`: give peers time to connect and subscribe before the first send.
fn wait_before_sending(options: &RunOptions) {
    if let Some(wait) = options.wait {
        std::thread::sleep(wait);
    }
}

/// Whether `-n` still allows another message after `done` of them.
fn below_count(options: &RunOptions, done: u64) -> bool {
    options.count.is_none_or(|count| done < count)
}

/// How many stdin lines the reader thread may read ahead of the socket.
const READ_AHEAD: usize = 256;

/// PUSH and PUB: each stdin line is a message; at end of input (or after
/// `-n` lines) close with linger so queued messages still go out. Stdin is
/// read on a thread, so that a first SIGINT or SIGTERM stops the input even
/// while a read or a send would block: the socket is then closed with its
/// linger, as at end of input (see `interrupt`).
fn send_lines<T: SendSocketType>(
    mut socket: Socket<T>,
    options: &RunOptions,
) -> Result<(), Failure> {
    let (line_sender, lines) = mpsc::sync_channel(READ_AHEAD);
    let interrupt = Interrupt::install(line_sender.clone())
        .map_err(|e| Failure::runtime("cannot take signals", e))?;
    let mut sent = 0;
    let result = (|| {
        wait_unless_interrupted(options, &interrupt)?;
        read_lines_into(line_sender);
        loop {
            if let Some(signo) = interrupt.signal() {
                return Err(Failure::Interrupted(signo));
            }
            if !below_count(options, sent) {
                return Ok(());
            }
            let msg = match lines.recv() {
                Ok(Input::Line(msg)) => msg,
                Ok(Input::End) | Err(mpsc::RecvError) => return Ok(()),
                Ok(Input::Failed(e)) => return Err(Failure::reading(e)),
                // Seen at the top of the loop.
                Ok(Input::Stop) => continue,
            };
            send_unless_interrupted(&mut socket, msg, &interrupt)?;
            sent += 1;
        }
    })();
    log::info!("sent {sent} messages; closing");
    // Interrupted, the socket still delivers what it queued, within linger.
    let deliver = matches!(result, Ok(()) | Err(Failure::Interrupted(_)));
    close(socket, deliver);
    result
}

/// `-w` for senders that take signals: the wait ends early on the first.
fn wait_unless_interrupted(options: &RunOptions, interrupt: &Interrupt) -> Result<(), Failure> {
    if let Some(wait) = options.wait {
        let mut items = [PollItem::fd(interrupt.wake_fd(), PollEvents::READABLE)];
        zmio::poll(&mut items, Some(wait)).map_err(|e| Failure::runtime("cannot wait", e))?;
    }
    match interrupt.signal() {
        Some(signo) => Err(Failure::Interrupted(signo)),
        None => Ok(()),
    }
}

/// Sends `msg`, waiting for room (PUSH at its high-water mark) unless the
/// first signal comes first.
fn send_unless_interrupted<T: SendSocketType>(
    socket: &mut Socket<T>,
    msg: Msg,
    interrupt: &Interrupt,
) -> Result<(), Failure> {
    loop {
        // This thread alone sends, so room found here is still there.
        if socket.events().is_writable() {
            return socket.send(msg).map_err(Failure::sending);
        }
        let mut items = [
            PollItem::socket(socket, PollEvents::WRITABLE),
            PollItem::fd(interrupt.wake_fd(), PollEvents::READABLE),
        ];
        zmio::poll(&mut items, None).map_err(|e| Failure::runtime("cannot wait to send", e))?;
        if let Some(signo) = interrupt.signal() {
            return Err(Failure::Interrupted(signo));
        }
    }
}

/// Reads stdin lines into `lines` on a thread, then [`Input::End`] (or
/// [`Input::Failed`]); it stops early once nobody takes the lines.
fn read_lines_into(lines: mpsc::SyncSender<Input>) {
    std::thread::spawn(move || {
        let mut input = LineReader::new(io::stdin().lock());
        loop {
            let next = match input.next_message() {
                Ok(Some(msg)) => Input::Line(msg),
                Ok(None) => Input::End,
                Err(e) => Input::Failed(e),
            };
            let failed = !matches!(next, Input::Line(_));
            if lines.send(next).is_err() || failed {
                return;
            }
        }
    });
}

/// PULL and SUB: print each message until `-n` are printed or `-t` expires.
fn print_messages<T: RecvSocketType>(
    mut socket: Socket<T>,
    options: &RunOptions,
) -> Result<(), Failure> {
    let mut output = LineWriter::new(io::stdout().lock());
    let mut printed = 0;
    let result = loop {
        if !below_count(options, printed) {
            break Ok(());
        }
        match socket.recv() {
            Ok(msg) => {
                if let Err(e) = output.write_message(&msg) {
                    break Err(Failure::writing(e));
                }
                printed += 1;
            }
            Err(e) => break Err(Failure::receiving(e)),
        }
    };
    close(socket, false);
    result
}

/// REQ: each stdin line is a request; print each reply before sending the
/// next request.
fn send_requests(mut socket: Socket<Req>, options: &RunOptions) -> Result<(), Failure> {
    wait_before_sending(options);
    let mut input = LineReader::new(io::stdin().lock());
    let mut output = LineWriter::new(io::stdout().lock());
    let mut answered = 0;
    let result = loop {
        if !below_count(options, answered) {
            break Ok(());
        }
        let request = match input.next_message() {
            Ok(Some(msg)) => msg,
            Ok(None) => break Ok(()),
            Err(e) => break Err(Failure::reading(e)),
        };
        if let Err(e) = socket.send(request) {
            break Err(Failure::sending(e));
        }
        let reply = match socket.recv() {
            Ok(reply) => reply,
            Err(e) => break Err(Failure::receiving(e)),
        };
        if let Err(e) = output.write_message(&reply) {
            break Err(Failure::writing(e));
        }
        answered += 1;
    };
    // A reply came back for every request sent, so nothing of ours is queued.
    close(socket, false);
    result
}

/// REP: print each request and send it back unchanged as the reply.
fn echo_requests(mut socket: Socket<Rep>, options: &RunOptions) -> Result<(), Failure> {
    let mut output = LineWriter::new(io::stdout().lock());
    let mut answered = 0;
    let result = loop {
        if !below_count(options, answered) {
            break Ok(());
        }
        let request = match socket.recv() {
            Ok(request) => request,
            Err(e) => break Err(Failure::receiving(e)),
        };
        if let Err(e) = output.write_message(&request) {
            break Err(Failure::writing(e));
        }
        if let Err(e) = socket.send(request) {
            break Err(Failure::sending(e));
        }
        answered += 1;
    };
    // The last reply may still be on its way: let it go out with linger.
    close(socket, result.is_ok());
    result
}

/// How often a socket that both sends and receives looks for new input
/// lines while it waits for messages (the latency a line may see).
const DUPLEX_POLL: Duration = Duration::from_millis(10);

/// DEALER, PAIR and ROUTER: send each stdin line (read on a thread) and print
/// each message received, on this thread, which owns the socket. At end of
/// input they keep receiving until `-n` messages are printed or `-t` expires.
/// `outgoing` turns a line into the message to send, `incoming` a received
/// message into the line to print (ROUTER's hex ids).
fn duplex<T: SendSocketType + RecvSocketType>(
    mut socket: Socket<T>,
    options: &RunOptions,
    outgoing: impl Fn(Msg) -> Result<Msg, Failure>,
    incoming: impl Fn(Msg) -> Msg,
) -> Result<(), Failure> {
    let (line_sender, lines) = mpsc::sync_channel(READ_AHEAD);
    let interrupt = Interrupt::install(line_sender.clone())
        .map_err(|e| Failure::runtime("cannot take signals", e))?;
    let mut output = LineWriter::new(io::stdout().lock());
    let mut input_open = true;
    let mut printed = 0;
    let mut idle_since = Instant::now();
    let result = (|| {
        wait_unless_interrupted(options, &interrupt)?;
        read_lines_into(line_sender);
        socket
            .set_rcvtimeo(Some(DUPLEX_POLL))
            .map_err(|e| Failure::runtime("cannot set the receive timeout", e))?;
        while below_count(options, printed) {
            // Each turn takes at most DUPLEX_POLL, so a signal is seen promptly.
            if let Some(signo) = interrupt.signal() {
                return Err(Failure::Interrupted(signo));
            }
            while input_open {
                match lines.try_recv() {
                    Ok(Input::Line(msg)) => {
                        send_unless_interrupted(&mut socket, outgoing(msg)?, &interrupt)?;
                    }
                    Ok(Input::Failed(e)) => return Err(Failure::reading(e)),
                    Ok(Input::Stop) | Err(mpsc::TryRecvError::Empty) => break,
                    Ok(Input::End) | Err(mpsc::TryRecvError::Disconnected) => input_open = false,
                }
            }
            match socket.recv() {
                Ok(msg) => {
                    output
                        .write_message(&incoming(msg))
                        .map_err(Failure::writing)?;
                    printed += 1;
                    idle_since = Instant::now();
                }
                Err(zmio::Error::TimedOut | zmio::Error::WouldBlock) => {
                    if options.timeout.is_some_and(|t| idle_since.elapsed() >= t) {
                        return Err(Failure::TimedOut);
                    }
                }
                Err(e) => return Err(Failure::receiving(e)),
            }
        }
        Ok(())
    })();
    // What was sent may still be queued: deliver it with linger on success
    // and on a signal.
    let deliver = matches!(result, Ok(()) | Err(Failure::Interrupted(_)));
    close(socket, deliver);
    result
}

/// ROUTER input: the first field is the peer's routing id in hex.
fn id_from_hex(msg: Msg) -> Result<Msg, Failure> {
    let mut frames = msg.into_frames();
    let text = frames.first().cloned().unwrap_or_default();
    let id = decode_hex(&text).ok_or_else(|| {
        Failure::Runtime(format!(
            "router input: the first field must be a routing id in hex, got `{}`",
            String::from_utf8_lossy(&text)
        ))
    })?;
    if let Some(first) = frames.first_mut() {
        *first = Bytes::from(id);
    }
    Ok(Msg::from_frames(frames))
}

/// XPUB output: a subscription's first byte as `+` (subscribe) or `-`
/// (cancel), then the topic.
fn subscription_to_text(msg: Msg) -> Msg {
    let mut frames = msg.into_frames();
    if let Some(first) = frames.first_mut() {
        let sign = match first.first() {
            Some(1) => Some(b'+'),
            Some(0) => Some(b'-'),
            _ => None,
        };
        if let Some(sign) = sign {
            let mut text = first.to_vec();
            text[0] = sign;
            *first = Bytes::from(text);
        }
    }
    Msg::from_frames(frames)
}

/// XSUB input: a one-field line `+TOPIC` or `-TOPIC` becomes a subscribe or
/// cancel message; any other line is sent as it is.
fn text_to_subscription(msg: Msg) -> Msg {
    let mut frames = msg.into_frames();
    if let [only] = frames.as_mut_slice() {
        let byte = match only.first() {
            Some(b'+') => Some(1),
            Some(b'-') => Some(0),
            _ => None,
        };
        if let Some(byte) = byte {
            let mut wire = only.to_vec();
            wire[0] = byte;
            *only = Bytes::from(wire);
        }
    }
    Msg::from_frames(frames)
}

/// ROUTER output: the routing id frame as hex.
fn id_to_hex(msg: Msg) -> Msg {
    let mut frames = msg.into_frames();
    if let Some(first) = frames.first_mut() {
        let hex: String = first.iter().map(|b| format!("{b:02x}")).collect();
        *first = Bytes::from(hex);
    }
    Msg::from_frames(frames)
}

/// Even-length hex (either case) as bytes; `None` if it is not that, or empty.
fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect()
}
