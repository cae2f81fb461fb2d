//! The command line, parsed by hand: every mistake becomes one [`UsageError`]
//! of one line, which `main` prints and turns into exit status 2.
//!
//! Accepted forms: `-n 5`, `-n5`, `--count 5`, `--count=5`. A value is taken
//! verbatim from the next argument even when it starts with `-`, so
//! `-s -x` subscribes to `-x` and `--linger -1` means "forever".

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

/// The text of `zmio --help`.
pub const USAGE: &str = "\
zmio: ZeroMQ (ZMTP 3.1) sockets from the shell, one message per line.

Usage: zmio TYPE (-b|--bind EP | -c|--connect EP)... [options]

TYPE is one of:
  push   send each stdin line; at end of input deliver what is queued, exit 0
  pull   print each message received
  pub    publish each stdin line; at end of input deliver what is queued, exit 0
  sub    print each message matching a subscription (-s)
  req    send each stdin line as a request and print its reply
  rep    print each request and send it back as the reply
  dealer send each stdin line (round-robin) and print each message received
  pair   send each stdin line to the one peer and print each message received
  router print each message received as HEXID TAB FRAMES...; send each stdin
         line HEXID TAB FRAMES... to the peer HEXID names (an unknown id is
         dropped)
  xpub   publish each stdin line; print each subscription a peer sends as
         +TOPIC (subscribe) or -TOPIC (cancel)
  xsub   send each stdin line, +TOPIC and -TOPIC as a subscribe and a
         cancel; print each message received

Endpoints (at least one; repeatable; EP is tcp://HOST:PORT or ipc://PATH):
  -b, --bind EP        listen on EP; HOST may be *, an IPv4 address, [IPv6] or a
                       name; port * or 0 picks a free port and prints
                       `bound: tcp://HOST:PORT` on stderr (ipc://* picks a
                       fresh path and prints `bound: ipc://PATH`)
  -c, --connect EP     connect to EP (now, or whenever the peer appears)

Options:
  -s, --subscribe PFX  sub only: receive messages whose first frame starts with
                       PFX (repeatable; none given = everything)
  -n, --count N        receivers exit 0 after printing N messages; senders
                       send at most N (dealer, pair, router: exit after
                       printing N; at end of input they keep receiving)
  -w, --wait MS        push, pub, req, dealer, pair, router: sleep MS after bind/connect before the
                       first send (lets subscribers join a pub)
  -t, --timeout MS     all but push and pub: exit 3 after MS with no message
                       (restarted by every message; req: waiting for a reply)
      --linger MS      at exit, wait at most MS to deliver queued messages
                       (default: until delivered; -1 = forever, 0 = drop them)
      --sndhwm N       messages queued per peer for sending (default 1000,
                       0 = no limit)
      --rcvhwm N       messages queued per peer on receipt (default 1000,
                       0 = no limit)
  -v, --verbose        log to stderr (RUST_LOG=... selects what, as env_logger)
  -h, --help           print this help and exit
      --version        print the version and exit

Lines: a line is a message; TAB separates its frames (both ways); an empty line
is a message of one empty frame; a trailing \\r\\n counts as the newline.

Exit status: 0 done, 1 runtime error, 2 bad arguments or unusable endpoint,
3 timed out (-t). Errors are one line on stderr. A first SIGINT or SIGTERM
stops a sender's input; it delivers what is queued (within --linger), then
ends by that signal (status 128+N); a second one ends it at once.

More: docs/cli.md
";

/// The socket types the tool can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketType {
    /// Sends stdin lines round-robin.
    Push,
    /// Prints what it receives.
    Pull,
    /// Publishes stdin lines.
    Pub,
    /// Prints what matches its subscriptions.
    Sub,
    /// Sends a request per line and prints the reply.
    Req,
    /// Prints each request and echoes it back.
    Rep,
    /// Sends stdin lines round-robin and prints what it receives.
    Dealer,
    /// Sends stdin lines to its one peer and prints what it receives.
    Pair,
    /// Prints what it receives with the sender's id in hex; sends each
    /// stdin line to the peer its first (hex) field names.
    Router,
    /// Publishes stdin lines; prints the subscriptions its peers send
    /// (`+topic`, `-topic`).
    XPub,
    /// Sends stdin lines, `+topic`/`-topic` as subscribe/cancel; prints
    /// what it receives.
    XSub,
}

impl SocketType {
    /// Parses a type name, case-insensitively.
    fn parse(name: &str) -> Result<SocketType, UsageError> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "push" => SocketType::Push,
            "pull" => SocketType::Pull,
            "pub" => SocketType::Pub,
            "sub" => SocketType::Sub,
            "req" => SocketType::Req,
            "rep" => SocketType::Rep,
            "dealer" => SocketType::Dealer,
            "pair" => SocketType::Pair,
            "router" => SocketType::Router,
            "xpub" => SocketType::XPub,
            "xsub" => SocketType::XSub,
            _ => {
                return Err(UsageError(format!(
                    "unknown socket type `{name}` (expected push, pull, pub, sub, req, rep, dealer, router, pair, xpub or xsub)"
                )));
            }
        })
    }

    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Push => "push",
            SocketType::Pull => "pull",
            SocketType::Pub => "pub",
            SocketType::Sub => "sub",
            SocketType::Req => "req",
            SocketType::Rep => "rep",
            SocketType::Dealer => "dealer",
            SocketType::Pair => "pair",
            SocketType::Router => "router",
            SocketType::XPub => "xpub",
            SocketType::XSub => "xsub",
        }
    }

    /// Whether the type waits for incoming messages (so `-t` means something).
    fn waits_for_messages(self) -> bool {
        !matches!(self, SocketType::Push | SocketType::Pub)
    }

    /// Whether the type starts the conversation by sending (so `-w` means something).
    fn sends_first(self) -> bool {
        !matches!(self, SocketType::Pull | SocketType::Sub | SocketType::Rep)
    }
}

/// Whether an endpoint is bound or connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// `-b`.
    Bind,
    /// `-c`.
    Connect,
}

/// One `-b` or `-c`, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointArg {
    /// Bind or connect.
    pub attach: Attach,
    /// The endpoint as written.
    pub endpoint: String,
}

/// A run of the tool, as the command line asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// The socket type.
    pub socket_type: SocketType,
    /// Endpoints to bind and connect, in the order given.
    pub endpoints: Vec<EndpointArg>,
    /// Subscription prefixes (raw bytes: a prefix need not be UTF-8).
    pub subscriptions: Vec<Vec<u8>>,
    /// `-n`: how many messages to print or send.
    pub count: Option<u64>,
    /// `-w`: the pause before the first send.
    pub wait: Option<Duration>,
    /// `-t`: the idle time after which a receiver gives up.
    pub timeout: Option<Duration>,
    /// `--linger`: `Some(None)` is forever, `None` leaves the library default.
    pub linger: Option<Option<Duration>>,
    /// `--sndhwm`.
    pub sndhwm: Option<usize>,
    /// `--rcvhwm`.
    pub rcvhwm: Option<usize>,
    /// `-v`.
    pub verbose: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// Run a socket.
    Run(RunOptions),
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
}

/// A bad command line, as one line of text (without the `zmio: ` prefix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The options the tool knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Bind,
    Connect,
    Subscribe,
    Count,
    Wait,
    Timeout,
    Linger,
    SndHwm,
    RcvHwm,
    Verbose,
    Help,
    Version,
}

/// Each option's short letter (if any) and long name.
const FLAGS: &[(Flag, Option<u8>, &str)] = &[
    (Flag::Bind, Some(b'b'), "bind"),
    (Flag::Connect, Some(b'c'), "connect"),
    (Flag::Subscribe, Some(b's'), "subscribe"),
    (Flag::Count, Some(b'n'), "count"),
    (Flag::Wait, Some(b'w'), "wait"),
    (Flag::Timeout, Some(b't'), "timeout"),
    (Flag::Linger, None, "linger"),
    (Flag::SndHwm, None, "sndhwm"),
    (Flag::RcvHwm, None, "rcvhwm"),
    (Flag::Verbose, Some(b'v'), "verbose"),
    (Flag::Help, Some(b'h'), "help"),
    (Flag::Version, None, "version"),
];

impl Flag {
    fn takes_value(self) -> bool {
        !matches!(self, Flag::Verbose | Flag::Help | Flag::Version)
    }

    fn by_short(letter: u8) -> Option<Flag> {
        FLAGS
            .iter()
            .find(|(_, short, _)| *short == Some(letter))
            .map(|(flag, _, _)| *flag)
    }

    fn by_long(name: &[u8]) -> Option<Flag> {
        FLAGS
            .iter()
            .find(|(_, _, long)| long.as_bytes() == name)
            .map(|(flag, _, _)| *flag)
    }
}

/// Renders bytes from the command line for an error message.
fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A value that must be text (endpoints, numbers).
fn text_value(option: &str, value: &[u8]) -> Result<String, UsageError> {
    std::str::from_utf8(value)
        .map(str::to_owned)
        .map_err(|_| UsageError(format!("the value of `{option}` is not valid UTF-8")))
}

/// A whole number, 0 or more.
fn number<N: std::str::FromStr>(option: &str, value: &[u8]) -> Result<N, UsageError> {
    let bad = || {
        UsageError(format!(
            "invalid value `{}` for `{option}`: expected a whole number",
            shown(value)
        ))
    };
    let text = std::str::from_utf8(value).map_err(|_| bad())?;
    // `parse` accepts a leading `+`; a number here is digits only.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

fn millis(option: &str, value: &[u8]) -> Result<Duration, UsageError> {
    number::<u64>(option, value).map(Duration::from_millis)
}

/// What has been read so far.
#[derive(Debug, Default)]
struct Parsed {
    type_name: Option<String>,
    endpoints: Vec<EndpointArg>,
    subscriptions: Vec<Vec<u8>>,
    count: Option<u64>,
    wait: Option<Duration>,
    timeout: Option<Duration>,
    linger: Option<Option<Duration>>,
    sndhwm: Option<usize>,
    rcvhwm: Option<usize>,
    verbose: bool,
    help: bool,
    version: bool,
}

impl Parsed {
    /// Records one option and its value (`None` for flags).
    fn apply(&mut self, flag: Flag, option: &str, value: Option<&[u8]>) -> Result<(), UsageError> {
        let value = value.unwrap_or_default();
        match flag {
            Flag::Bind | Flag::Connect => {
                let endpoint = text_value(option, value)?;
                if endpoint.starts_with("inproc://") {
                    return Err(UsageError(format!(
                        "`{endpoint}`: inproc:// joins sockets inside one process and zmio runs one socket; use tcp:// or ipc://"
                    )));
                }
                let attach = if flag == Flag::Bind {
                    Attach::Bind
                } else {
                    Attach::Connect
                };
                self.endpoints.push(EndpointArg { attach, endpoint });
            }
            Flag::Subscribe => self.subscriptions.push(value.to_vec()),
            Flag::Count => self.count = Some(number(option, value)?),
            Flag::Wait => self.wait = Some(millis(option, value)?),
            Flag::Timeout => {
                let timeout = millis(option, value)?;
                if timeout.is_zero() {
                    return Err(UsageError(format!(
                        "invalid value `0` for `{option}`: the timeout must be at least 1 ms"
                    )));
                }
                self.timeout = Some(timeout);
            }
            Flag::Linger => {
                self.linger = Some(if value == b"-1" {
                    None
                } else {
                    Some(millis(option, value)?)
                });
            }
            Flag::SndHwm => self.sndhwm = Some(number(option, value)?),
            Flag::RcvHwm => self.rcvhwm = Some(number(option, value)?),
            Flag::Verbose => self.verbose = true,
            Flag::Help => self.help = true,
            Flag::Version => self.version = true,
        }
        Ok(())
    }

    /// Checks the combination once every argument is read.
    fn finish(self) -> Result<Invocation, UsageError> {
        let Some(type_name) = self.type_name else {
            return Err(UsageError(
                "missing the socket type (push, pull, pub, sub, req or rep); see `zmio --help`"
                    .into(),
            ));
        };
        let socket_type = SocketType::parse(&type_name)?;
        let name = socket_type.name();
        if self.endpoints.is_empty() {
            return Err(UsageError(format!(
                "{name} needs at least one endpoint: -b tcp://HOST:PORT or -c tcp://HOST:PORT"
            )));
        }
        if !self.subscriptions.is_empty() && socket_type != SocketType::Sub {
            return Err(UsageError(format!(
                "-s/--subscribe is for sub sockets only, not {name}"
            )));
        }
        if self.timeout.is_some() && !socket_type.waits_for_messages() {
            return Err(UsageError(format!(
                "-t/--timeout is for pull, sub, req and rep, not {name} (it bounds waiting for a message)"
            )));
        }
        if self.wait.is_some() && !socket_type.sends_first() {
            return Err(UsageError(format!(
                "-w/--wait is for push, pub and req, not {name} (it delays the first send)"
            )));
        }
        Ok(Invocation::Run(RunOptions {
            socket_type,
            endpoints: self.endpoints,
            subscriptions: self.subscriptions,
            count: self.count,
            wait: self.wait,
            timeout: self.timeout,
            linger: self.linger,
            sndhwm: self.sndhwm,
            rcvhwm: self.rcvhwm,
            verbose: self.verbose,
        }))
    }
}

/// Parses the arguments after the program name.
///
/// `-h`/`--help` anywhere wins over any mistake, so `zmio pub -n x --help`
/// still shows the help; otherwise the first mistake is the error.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, UsageError> {
    let mut args = args.into_iter();
    let mut parsed = Parsed::default();
    let mut first_error: Option<UsageError> = None;
    while let Some(arg) = args.next() {
        // Bytes, not `str`: a subscription prefix may be any bytes.
        let bytes = arg.as_encoded_bytes();
        let (flag, option, inline) = if let Some(long) = bytes.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                None => (long, None),
            };
            let option = format!("--{}", shown(name));
            (Flag::by_long(name), option, inline)
        } else if bytes.len() > 1 && bytes[0] == b'-' {
            let inline = (bytes.len() > 2).then(|| &bytes[2..]);
            let option = format!("-{}", shown(&bytes[1..2]));
            (Flag::by_short(bytes[1]), option, inline)
        } else {
            let error = match (&parsed.type_name, std::str::from_utf8(bytes)) {
                (None, Ok(name)) => {
                    parsed.type_name = Some(name.to_owned());
                    None
                }
                (None, Err(_)) => Some(format!("unknown socket type `{}`", shown(bytes))),
                (Some(_), _) => Some(format!("unexpected argument `{}`", shown(bytes))),
            };
            if let Some(error) = error {
                first_error.get_or_insert(UsageError(error));
            }
            continue;
        };
        let Some(flag) = flag else {
            first_error.get_or_insert(UsageError(format!(
                "unknown option `{}`; see `zmio --help`",
                shown(bytes)
            )));
            continue;
        };
        let value = if !flag.takes_value() {
            if inline.is_some() {
                let error = if bytes.starts_with(b"--") {
                    format!("option `{option}` takes no value")
                } else {
                    format!("unknown option `{}`; see `zmio --help`", shown(bytes))
                };
                first_error.get_or_insert(UsageError(error));
                continue;
            }
            None
        } else if let Some(inline) = inline {
            Some(inline.to_vec())
        } else if let Some(next) = args.next() {
            Some(next.as_encoded_bytes().to_vec())
        } else {
            first_error.get_or_insert(UsageError(format!("option `{option}` needs a value")));
            break;
        };
        if let Err(error) = parsed.apply(flag, &option, value.as_deref()) {
            first_error.get_or_insert(error);
        }
    }
    if parsed.help {
        return Ok(Invocation::Help);
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    if parsed.version {
        return Ok(Invocation::Version);
    }
    parsed.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    fn options(args: &[&str]) -> RunOptions {
        match run(args) {
            Ok(Invocation::Run(options)) => options,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn short_long_attached_and_equals_forms_agree() {
        for args in [
            &["pull", "-b", "tcp://*:1", "-n", "5"][..],
            &["pull", "-btcp://*:1", "-n5"],
            &["pull", "--bind", "tcp://*:1", "--count", "5"],
            &["pull", "--bind=tcp://*:1", "--count=5"],
        ] {
            let o = options(args);
            assert_eq!(o.count, Some(5), "{args:?}");
            assert_eq!(
                o.endpoints,
                vec![EndpointArg {
                    attach: Attach::Bind,
                    endpoint: "tcp://*:1".into()
                }]
            );
        }
    }

    #[test]
    fn values_may_start_with_a_dash() {
        let o = options(&["sub", "-c", "tcp://h:1", "-s", "-x", "--linger", "-1"]);
        assert_eq!(o.subscriptions, vec![b"-x".to_vec()]);
        assert_eq!(o.linger, Some(None));
    }

    #[test]
    fn endpoints_keep_their_order() {
        let o = options(&[
            "push",
            "-c",
            "tcp://a:1",
            "-b",
            "tcp://*:2",
            "-c",
            "tcp://b:3",
        ]);
        let order: Vec<_> = o.endpoints.iter().map(|e| e.attach).collect();
        assert_eq!(order, vec![Attach::Connect, Attach::Bind, Attach::Connect]);
    }

    #[test]
    fn help_wins_over_mistakes() {
        assert_eq!(run(&["pub", "-n", "x", "--help"]), Ok(Invocation::Help));
        assert_eq!(run(&["-h"]), Ok(Invocation::Help));
        assert_eq!(run(&["--version"]), Ok(Invocation::Version));
    }

    #[test]
    fn mistakes_are_one_line_each() {
        for args in [
            &[][..],
            &["nope", "-b", "tcp://*:1"],
            &["pull"],
            &["pull", "-b", "tcp://*:1", "extra"],
            &["pull", "-b"],
            &["pull", "-b", "tcp://*:1", "-x"],
            &["pull", "-b", "tcp://*:1", "--nope"],
            &["pull", "-b", "tcp://*:1", "-n", "five"],
            &["pull", "-b", "tcp://*:1", "-n", "+5"],
            &["pull", "-b", "tcp://*:1", "-n", "-5"],
            &["pull", "-b", "tcp://*:1", "-n", "99999999999999999999999"],
            &["pull", "-b", "tcp://*:1", "-t", "0"],
            &["pull", "-b", "tcp://*:1", "-w", "5"],
            &["pull", "-b", "tcp://*:1", "-s", "a"],
            &["pull", "-b", "tcp://*:1", "--verbose=yes"],
            &["pull", "-b", "tcp://*:1", "-vn"],
            &["push", "-c", "tcp://h:1", "-t", "5"],
        ] {
            match run(args) {
                Err(UsageError(line)) => {
                    assert!(!line.trim().is_empty() && !line.contains('\n'), "{args:?}")
                }
                other => panic!("{args:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn xpub_and_xsub_parse() {
        assert_eq!(
            options(&["XPUB", "-b", "tcp://*:1"]).socket_type,
            SocketType::XPub
        );
        assert_eq!(
            options(&["xsub", "-c", "tcp://h:1"]).socket_type,
            SocketType::XSub
        );
    }

    #[test]
    fn non_ascii_short_options_do_not_panic() {
        assert!(run(&["pull", "-é", "-b", "tcp://*:1"]).is_err());
        assert!(run(&["pull", "--é=1", "-b", "tcp://*:1"]).is_err());
    }
}
