//! The `zmio` command as scripts use it: exit statuses, the one-line error
//! contract, the `bound:` line, and messages through stdin and stdout.
//!
//! Processes find each other through the `bound:` line a binder prints for
//! port `*`, never through sleeps; every wait has a deadline that kills the
//! child, so a hang fails the test instead of stalling the run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use zmio::{Context, Msg, Pub, Pull, Push, Sub};

/// How long anything may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(10);

/// A `zmio` command with a clean environment for logging, so a developer's
/// RUST_LOG cannot add stderr lines the tests count.
fn zmio_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zmio"));
    command.args(args).env_remove("RUST_LOG");
    command
}

/// Sends each line (newline included) a reader thread gets from `input`;
/// after `limit` lines, if given, the thread stops and closes `input`, as
/// `head -n LIMIT` does.
fn line_channel(input: impl Read + Send + 'static, limit: Option<usize>) -> Receiver<Vec<u8>> {
    let (lines, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut input = BufReader::new(input);
        let mut count = 0;
        while limit.is_none_or(|limit| count < limit) {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if lines.send(line).is_err() {
                        return;
                    }
                }
            }
            count += 1;
        }
    });
    receiver
}

/// A running `zmio` process whose stdout and stderr are read line by line.
/// Dropping it kills the process.
struct Zmio {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<Vec<u8>>,
    stderr: Receiver<Vec<u8>>,
    /// Stderr lines already taken (the `bound:` line), kept for `finish`.
    stderr_seen: Vec<u8>,
}

/// What a finished process left behind.
#[derive(Debug)]
struct Finished {
    status: ExitStatus,
    /// Stdout not already taken with [`Zmio::line`].
    stdout: Vec<u8>,
    /// All of stderr.
    stderr: String,
}

impl Finished {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The stderr lines with something on them.
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

impl Zmio {
    fn spawn(args: &[&str]) -> Zmio {
        Zmio::spawn_reading(args, None)
    }

    /// Like [`spawn`](Self::spawn), but stdout is closed after `lines` lines.
    fn spawn_reading(args: &[&str], lines: Option<usize>) -> Zmio {
        let mut child = zmio_command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the zmio binary runs");
        let stdin = child.stdin.take();
        let stdout = line_channel(child.stdout.take().expect("stdout is piped"), lines);
        let stderr = line_channel(child.stderr.take().expect("stderr is piped"), None);
        Zmio {
            child,
            stdin,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    /// Writes to the process's stdin; false once the process stopped reading.
    fn write(&mut self, bytes: &[u8]) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        stdin.write_all(bytes).and_then(|()| stdin.flush()).is_ok()
    }

    /// Closes stdin: end of input for a sender.
    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The endpoint of the `bound:` line the process prints for port `*`.
    fn bound_endpoint(&mut self) -> String {
        let line = match self.stderr.recv_timeout(HANG) {
            Ok(line) => line,
            Err(e) => panic!("no `bound:` line on stderr ({e:?})"),
        };
        self.stderr_seen.extend_from_slice(&line);
        let line = String::from_utf8(line).expect("the bound line is text");
        line.trim_end()
            .strip_prefix("bound: ")
            .unwrap_or_else(|| panic!("expected a `bound:` line, got {line:?}"))
            .to_owned()
    }

    /// The next line on stdout, newline included.
    fn line(&self) -> Vec<u8> {
        match self.stdout.recv_timeout(HANG) {
            Ok(line) => line,
            Err(e) => panic!("no line on stdout ({e:?})"),
        }
    }

    /// Waits for a stderr line containing `needle` (a `-v` log line), keeping
    /// the lines read for [`finish`](Self::finish).
    fn wait_for_stderr(&mut self, needle: &str) {
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let found = String::from_utf8_lossy(&line).contains(needle);
                    self.stderr_seen.extend_from_slice(&line);
                    if found {
                        return;
                    }
                }
                Err(e) => panic!(
                    "no stderr line with {needle:?} ({e:?}); stderr so far: {}",
                    String::from_utf8_lossy(&self.stderr_seen)
                ),
            }
        }
    }

    /// Sends a signal (`TERM`, `INT`) with kill(1).
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Whether the process is still running.
    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit (killing it after [`HANG`]) and
    /// collects what it printed.
    fn finish(mut self) -> Finished {
        self.close_stdin();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if start.elapsed() > HANG {
                let _ = self.child.kill();
                panic!("zmio did not exit within {HANG:?}");
            }
            thread::sleep(Duration::from_millis(5));
        };
        let stdout = drain(&self.stdout);
        let mut stderr = std::mem::take(&mut self.stderr_seen);
        stderr.extend(drain(&self.stderr));
        Finished {
            status,
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Drop for Zmio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything left in a line channel once its writer has exited.
fn drain(lines: &Receiver<Vec<u8>>) -> Vec<u8> {
    let mut all = Vec::new();
    let deadline = Instant::now() + HANG;
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => all.extend(line),
            Err(RecvTimeoutError::Disconnected) => return all,
            Err(RecvTimeoutError::Timeout) => panic!("output did not end"),
        }
    }
}

/// Runs `zmio` to the end with `input` on stdin.
fn run(args: &[&str], input: &[u8]) -> Finished {
    let mut zmio = Zmio::spawn(args);
    zmio.write(input);
    zmio.finish()
}

/// The port of an endpoint such as `tcp://127.0.0.1:41234`.
fn port_of(endpoint: &str) -> u16 {
    endpoint
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {endpoint:?}"))
}

/// A loopback port nobody listens on (the OS just handed it out and took it back).
fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local_addr").port()
}

/// Checks the error contract: status 2, nothing on stdout, exactly one
/// non-blank line on stderr, and no panic.
fn assert_usage_error(args: &[&str]) -> String {
    let finished = run(args, b"");
    assert_eq!(finished.code(), Some(2), "{args:?}: {finished:?}");
    assert!(finished.stdout.is_empty(), "{args:?}: {finished:?}");
    let lines = finished.stderr_lines();
    assert_eq!(lines.len(), 1, "{args:?}: {finished:?}");
    assert!(!finished.stderr.contains("panicked"), "{args:?}");
    lines[0].to_owned()
}

#[test]
fn every_usage_error_is_one_line_exit_2_and_no_stdout() {
    let cases: &[&[&str]] = &[
        &[],
        &["sprocket", "-b", "tcp://127.0.0.1:*"],
        &["pull", "-b", "tcp://127.0.0.1:*", "--frobnicate"],
        &["pull", "-b", "tcp://127.0.0.1:*", "-x"],
        &["pull", "-b", "tcp://127.0.0.1:*", "-n", "many"],
        &["pull", "-b", "tcp://127.0.0.1:*", "--count=-1"],
        &["pull", "-b", "tcp://127.0.0.1:*", "--rcvhwm", "1k"],
        &["pull", "-b", "tcp://127.0.0.1:*", "-t"],
        &["pull", "-b"],
        &["pull"],
        &["pull", "-b", "tcp://127.0.0.1"],
        &["pull", "-b", "tcp://127.0.0.1:99999"],
        &["pull", "-b", "udp://127.0.0.1:5555"],
        // inproc joins sockets of one process; the tool has only one.
        &["pull", "-b", "inproc://work"],
        &["push", "-c", "tcp://*:5555"],
        &["push", "-c", "tcp://127.0.0.1:5555", "-s", "topic"],
        &["pull", "-b", "tcp://127.0.0.1:*", "-s", "topic"],
        &["pull", "-b", "tcp://127.0.0.1:*", "extra"],
        // A failure after a connect must not wait for what that connect
        // queued (a SUB's subscriptions) to be delivered.
        &["sub", "-c", "tcp://127.0.0.1:1", "-b", "tcp://127.0.0.1:x"],
        &["req", "-c", "tcp://127.0.0.1:1", "-c", "tcp://*:1"],
    ];
    for args in cases {
        assert_usage_error(args);
    }
}

#[test]
fn xpub_prints_subscriptions_and_publishes_lines() {
    let mut xpub = Zmio::spawn(&["xpub", "-b", "tcp://127.0.0.1:*"]);
    let endpoint = xpub.bound_endpoint();
    let ctx = Context::new().unwrap();
    let mut sub = ctx.socket::<Sub>().unwrap();
    sub.set_rcvtimeo(Some(HANG)).unwrap();
    sub.connect(&endpoint).unwrap();
    sub.subscribe("weather").unwrap();
    assert_eq!(xpub.line(), b"+weather\n");
    // Printed, so in effect for the lines sent after it.
    assert!(xpub.write(b"weather today\nnews\nweather end\n"));
    for want in ["weather today", "weather end"] {
        let got = sub.recv().expect("a published line");
        assert_eq!(&got.frame(0).unwrap()[..], want.as_bytes());
    }
    sub.unsubscribe("weather").unwrap();
    assert_eq!(xpub.line(), b"-weather\n");
}

#[test]
fn xsub_sends_subscriptions_and_prints_messages() {
    let ctx = Context::new().unwrap();
    let mut publisher = ctx.socket::<Pub>().unwrap();
    publisher.set_linger(Some(Duration::ZERO)).unwrap();
    let endpoint = publisher.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut xsub = Zmio::spawn(&["xsub", "-c", &endpoint, "-n", "1"]);
    assert!(xsub.write(b"+news\n"));
    let start = Instant::now();
    loop {
        publisher.send("weather").unwrap();
        publisher.send("news 1").unwrap();
        if let Ok(line) = xsub.stdout.recv_timeout(Duration::from_millis(50)) {
            assert_eq!(line, b"news 1\n");
            break;
        }
        assert!(start.elapsed() < HANG, "no message reached the xsub");
    }
    let finished = xsub.finish();
    assert_eq!(finished.code(), Some(0), "{finished:?}");
}

#[test]
fn an_address_in_use_is_a_usage_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = taken.local_addr().expect("local_addr").port();
    let line = assert_usage_error(&["pull", "-b", &format!("tcp://127.0.0.1:{port}")]);
    assert!(line.contains("in use"), "{line}");
}

#[test]
fn a_failed_second_endpoint_prints_no_bound_line() {
    let line = assert_usage_error(&["pull", "-b", "tcp://127.0.0.1:*", "-b", "tcp://nope"]);
    assert!(!line.starts_with("bound:"), "{line}");
}

#[test]
fn help_and_version_go_to_stdout_with_status_0() {
    for args in [&["--help"][..], &["-h"], &["pull", "-n", "bad", "--help"]] {
        let finished = run(args, b"");
        assert_eq!(finished.code(), Some(0), "{args:?}");
        let usage = String::from_utf8_lossy(&finished.stdout);
        assert!(usage.contains("Usage: zmio TYPE"), "{usage}");
        assert!(finished.stderr.is_empty(), "{finished:?}");
    }
    let finished = run(&["--version"], b"");
    assert_eq!(finished.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&finished.stdout).trim(),
        format!("zmio {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn push_to_pull_carries_lines_frames_and_empty_messages() {
    let mut pull = Zmio::spawn(&["pull", "-b", "tcp://127.0.0.1:*", "-n", "4"]);
    let endpoint = pull.bound_endpoint();
    let push = run(
        &["push", "-c", &endpoint],
        b"plain\nhead\tbody\t\n\nwin\r\n",
    );
    assert_eq!(push.code(), Some(0), "{push:?}");
    let pulled = pull.finish();
    assert_eq!(pulled.code(), Some(0), "{pulled:?}");
    assert_eq!(pulled.stdout, b"plain\nhead\tbody\t\n\nwin\n");
    assert_eq!(pulled.stderr_lines().len(), 1, "only the bound line");
}

#[test]
fn push_to_pull_over_ipc_with_a_fresh_path() {
    let mut pull = Zmio::spawn(&["pull", "-b", "ipc://*", "-n", "2"]);
    let endpoint = pull.bound_endpoint();
    assert!(endpoint.starts_with("ipc:///"), "{endpoint}");
    let path = endpoint.trim_start_matches("ipc://").to_owned();
    assert!(std::path::Path::new(&path).exists());
    let push = run(&["push", "-c", &endpoint], b"one\ntwo\n");
    assert_eq!(push.code(), Some(0), "{push:?}");
    let pulled = pull.finish();
    assert_eq!(pulled.code(), Some(0), "{pulled:?}");
    assert_eq!(pulled.stdout, b"one\ntwo\n");
    assert!(
        !std::path::Path::new(&path).exists(),
        "the socket file goes with the process"
    );
}

#[test]
fn lines_become_frames() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(HANG)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let push = run(&["push", "-c", &endpoint], b"a\tb\n\nc\r\nd\re\nlast");
    assert_eq!(push.code(), Some(0), "{push:?}");
    let expected: [&[&[u8]]; 5] = [&[b"a", b"b"], &[b""], &[b"c"], &[b"d\re"], &[b"last"]];
    for frames in expected {
        assert_eq!(
            pull.recv().unwrap(),
            Msg::from_frames(frames.iter().copied())
        );
    }
}

#[test]
fn frames_become_lines_and_raw_bytes_pass_through() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    let endpoint = push.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let pull = Zmio::spawn(&["pull", "-c", &endpoint, "-n", "3"]);
    push.send(Msg::from_frames([&b"x"[..], b"", b"\xff\xfe"]))
        .unwrap();
    push.send(Msg::new()).unwrap();
    push.send("end").unwrap();
    let first = pull.line();
    let pulled = pull.finish();
    assert_eq!(pulled.code(), Some(0), "{pulled:?}");
    assert_eq!(first, b"x\t\t\xff\xfe\n");
    assert_eq!(pulled.stdout, b"\nend\n");
    assert!(pulled.stderr.is_empty(), "{pulled:?}");
}

#[test]
fn push_count_sends_exactly_the_first_lines() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(HANG)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let push = run(&["push", "-c", &endpoint, "-n", "2"], b"1\n2\n3\n4\n5\n");
    assert_eq!(push.code(), Some(0), "{push:?}");
    assert_eq!(pull.recv().unwrap(), Msg::from("1"));
    assert_eq!(pull.recv().unwrap(), Msg::from("2"));
    // The push has exited after delivering what it sent: a third message
    // would already be here.
    pull.set_rcvtimeo(Some(Duration::from_millis(200))).unwrap();
    assert!(matches!(pull.recv(), Err(zmio::Error::TimedOut)));
}

#[test]
fn a_push_waits_for_a_pull_that_binds_later() {
    let port = unused_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut push = Zmio::spawn(&["push", "-c", &endpoint]);
    push.write(b"a\nb\n");
    push.close_stdin();
    // Not a synchronisation: the push must still be there, holding its
    // messages, when nobody has taken them yet.
    thread::sleep(Duration::from_millis(200));
    assert!(push.is_running(), "push exited before delivering");
    let pull = run(&["pull", "-b", &endpoint, "-n", "2"], b"");
    assert_eq!(pull.code(), Some(0), "{pull:?}");
    assert_eq!(pull.stdout, b"a\nb\n");
    let push = push.finish();
    assert_eq!(push.code(), Some(0), "{push:?}");
    assert!(push.stderr.is_empty(), "{push:?}");
}

#[test]
fn pull_timeout_exits_3_after_idling() {
    let started = Instant::now();
    let mut pull = Zmio::spawn(&["pull", "-b", "tcp://127.0.0.1:*", "-t", "200"]);
    pull.bound_endpoint();
    let pulled = pull.finish();
    assert_eq!(pulled.code(), Some(3), "{pulled:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(pulled.stdout.is_empty());
    assert_eq!(pulled.stderr_lines().len(), 1, "only the bound line");
}

#[test]
fn every_message_restarts_the_timeout() {
    let mut pull = Zmio::spawn(&["pull", "-b", "tcp://127.0.0.1:*", "-t", "1000"]);
    let endpoint = pull.bound_endpoint();
    let mut push = Zmio::spawn(&["push", "-c", &endpoint]);
    let started = Instant::now();
    for i in 0..3 {
        if i > 0 {
            // Two gaps of 600 ms add up to more than the 1000 ms timeout.
            thread::sleep(Duration::from_millis(600));
        }
        assert!(push.write(format!("{i}\n").as_bytes()));
        assert_eq!(pull.line(), format!("{i}\n").as_bytes());
    }
    assert!(started.elapsed() > Duration::from_millis(1000));
    let pulled = pull.finish();
    assert_eq!(pulled.code(), Some(3), "{pulled:?}");
    assert_eq!(push.finish().code(), Some(0));
}

#[test]
fn req_and_rep_exchange_lines() {
    let mut rep = Zmio::spawn(&["rep", "-b", "tcp://127.0.0.1:*", "-n", "3"]);
    let endpoint = rep.bound_endpoint();
    let req = run(&["req", "-c", &endpoint], b"one\ntwo\tframes\n\n");
    assert_eq!(req.code(), Some(0), "{req:?}");
    assert_eq!(req.stdout, b"one\ntwo\tframes\n\n");
    assert!(req.stderr.is_empty(), "{req:?}");
    let rep = rep.finish();
    assert_eq!(rep.code(), Some(0), "{rep:?}");
    assert_eq!(rep.stdout, b"one\ntwo\tframes\n\n");
}

#[test]
fn rep_prints_each_request_as_it_comes() {
    let mut rep = Zmio::spawn(&["rep", "-b", "tcp://127.0.0.1:*"]);
    let endpoint = rep.bound_endpoint();
    let mut req = Zmio::spawn(&["req", "-c", &endpoint]);
    for request in ["first\n", "second\n"] {
        assert!(req.write(request.as_bytes()));
        assert_eq!(rep.line(), request.as_bytes(), "rep flushed the line");
        assert_eq!(req.line(), request.as_bytes(), "req printed the reply");
    }
    assert!(rep.is_running());
}

#[test]
fn req_timeout_bounds_the_wait_for_a_reply() {
    let endpoint = format!("tcp://127.0.0.1:{}", unused_port());
    let req = run(&["req", "-c", &endpoint, "-t", "200"], b"anyone?\n");
    assert_eq!(req.code(), Some(3), "{req:?}");
    assert!(req.stdout.is_empty());
    assert!(req.stderr.is_empty(), "{req:?}");
}

/// Publishes `lines` round after round to `publisher` until `stop` is set,
/// because a subscription reaches a publisher some time after connecting.
///
/// The publisher runs with `--linger 0`: once the subscriber has exited, the
/// publisher's connection keeps that subscriber's subscriptions and queues
/// matching lines for its return, which the default linger would wait for
/// forever.
fn publish_until(
    mut publisher: Zmio,
    lines: &'static [u8],
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<Zmio> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) && publisher.write(lines) {
            thread::sleep(Duration::from_millis(10));
        }
        publisher
    })
}

#[test]
fn sub_receives_only_its_prefixes() {
    let mut sub = Zmio::spawn(&[
        "sub",
        "-b",
        "tcp://127.0.0.1:*",
        "-s",
        "keep",
        "--subscribe=also",
        "-n",
        "6",
    ]);
    let endpoint = sub.bound_endpoint();
    let publisher = Zmio::spawn(&["pub", "-c", &endpoint, "--linger", "0"]);
    let stop = Arc::new(AtomicBool::new(false));
    let publishing = publish_until(
        publisher,
        b"skip\nkeep 1\nother\nalso\tx\nkeeps\n",
        stop.clone(),
    );
    let received = sub.finish();
    stop.store(true, Ordering::Relaxed);
    let publisher = publishing.join().expect("publisher thread");
    assert_eq!(received.code(), Some(0), "{received:?}");
    let lines: Vec<&[u8]> = received.stdout.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 6, "{received:?}");
    for line in lines {
        assert!(
            [&b"keep 1\n"[..], b"also\tx\n", b"keeps\n"].contains(&line),
            "{line:?}"
        );
    }
    let published = publisher.finish();
    assert_eq!(published.code(), Some(0), "{published:?}");
}

#[test]
fn sub_without_prefixes_receives_everything() {
    let mut sub = Zmio::spawn(&["sub", "-b", "tcp://127.0.0.1:*", "-n", "2"]);
    let endpoint = sub.bound_endpoint();
    let publisher = Zmio::spawn(&["pub", "-c", &endpoint, "--linger", "0"]);
    let stop = Arc::new(AtomicBool::new(false));
    let publishing = publish_until(publisher, b"anything\n", stop.clone());
    let received = sub.finish();
    stop.store(true, Ordering::Relaxed);
    publishing.join().expect("publisher thread");
    assert_eq!(received.code(), Some(0), "{received:?}");
    assert_eq!(received.stdout, b"anything\nanything\n");
}

/// Whether this machine has an IPv6 loopback to bind.
fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

#[test]
fn bound_repeats_the_host_as_given() {
    let mut hosts = vec!["127.0.0.1", "localhost", "*"];
    if has_ipv6_loopback() {
        hosts.push("[::1]");
    } else {
        eprintln!("no ::1 on this machine: skipping the IPv6 case");
    }
    for host in hosts {
        for port in ["*", "0"] {
            let mut pull = Zmio::spawn(&["pull", "-b", &format!("tcp://{host}:{port}")]);
            let endpoint = pull.bound_endpoint();
            let prefix = format!("tcp://{host}:");
            let bound_port = endpoint
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{endpoint} does not start with {prefix}"));
            assert!(bound_port.parse::<u16>().is_ok_and(|p| p > 0), "{endpoint}");
            assert!(pull.is_running());
        }
    }
}

#[test]
fn the_bound_port_is_reachable_on_ipv6() {
    if !has_ipv6_loopback() {
        eprintln!("no ::1 on this machine: skipping");
        return;
    }
    let mut pull = Zmio::spawn(&["pull", "-b", "tcp://[::1]:*", "-n", "1"]);
    let endpoint = pull.bound_endpoint();
    assert!(endpoint.starts_with("tcp://[::1]:") && port_of(&endpoint) > 0);
    let push = run(&["push", "-c", &endpoint], b"over six\n");
    assert_eq!(push.code(), Some(0), "{push:?}");
    assert_eq!(pull.finish().stdout, b"over six\n");
}

#[test]
fn an_explicit_port_prints_no_bound_line() {
    let port = unused_port();
    let pull = run(
        &["pull", "-b", &format!("tcp://127.0.0.1:{port}"), "-t", "50"],
        b"",
    );
    assert_eq!(pull.code(), Some(3), "{pull:?}");
    assert!(pull.stderr.is_empty(), "{pull:?}");
}

#[test]
fn a_closed_stdout_ends_pull_quietly() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.set_sndtimeo(Some(HANG)).unwrap();
    let endpoint = push.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut pull = Zmio::spawn_reading(&["pull", "-c", &endpoint], Some(1));
    push.send("first").unwrap();
    assert_eq!(pull.line(), b"first\n");
    // The reader has closed stdout, like `| head -1`; from here on the pull
    // may be gone, so never wait long to send.
    push.set_sndtimeo(Some(Duration::from_millis(10))).unwrap();
    let start = Instant::now();
    while pull.is_running() {
        // The pull notices the closed pipe at its next write.
        let _ = push.send("more");
        assert!(
            start.elapsed() < HANG,
            "pull kept running with nobody reading"
        );
    }
    let pulled = pull.finish();
    assert_eq!(pulled.code(), Some(0), "{pulled:?}");
    assert!(pulled.stderr.is_empty(), "{pulled:?}");
}

#[test]
fn dealer_and_router_talk_with_hex_ids() {
    let mut router = Zmio::spawn(&["router", "-b", "tcp://127.0.0.1:*", "-n", "2"]);
    let endpoint = router.bound_endpoint();
    let mut dealer = Zmio::spawn(&["dealer", "-c", &endpoint, "-n", "1"]);
    assert!(dealer.write(b"hello\tworld\n"));
    let line = router.line();
    let line = String::from_utf8(line).expect("hex and ascii");
    let (id, rest) = line.split_once('\t').expect("id TAB frames");
    assert_eq!(id.len(), 10, "a generated 5-byte id in hex: {line:?}");
    assert!(id.starts_with("00"), "{line:?}");
    assert_eq!(rest, "hello\tworld\n");
    assert!(router.write(format!("{id}\treply\n").as_bytes()));
    assert_eq!(dealer.line(), b"reply\n");
    let dealer = dealer.finish();
    assert_eq!(dealer.code(), Some(0), "{dealer:?}");
    // A second dealer's message makes the router's second, and last, line.
    let mut again = Zmio::spawn(&["dealer", "-c", &endpoint]);
    assert!(again.write(b"second\n"));
    let line = String::from_utf8(router.line()).expect("text");
    assert!(line.ends_with("\tsecond\n"), "{line:?}");
    let router = router.finish();
    assert_eq!(router.code(), Some(0), "{router:?}");
}

#[test]
fn router_input_without_a_hex_id_is_a_runtime_error() {
    let mut router = Zmio::spawn(&["router", "-b", "tcp://127.0.0.1:*"]);
    let _ = router.bound_endpoint();
    assert!(router.write(b"not-hex\tbody\n"));
    let router = router.finish();
    assert_eq!(router.code(), Some(1), "{router:?}");
    let lines = router.stderr_lines();
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("routing id in hex")),
        "{router:?}"
    );
}

#[test]
fn pair_sends_and_receives_lines_both_ways() {
    let mut a = Zmio::spawn(&["pair", "-b", "tcp://127.0.0.1:*"]);
    let endpoint = a.bound_endpoint();
    let mut b = Zmio::spawn(&["pair", "-c", &endpoint]);
    for round in 0..2 {
        assert!(b.write(format!("from b {round}\n").as_bytes()));
        assert_eq!(a.line(), format!("from b {round}\n").as_bytes());
        assert!(a.write(format!("from a\t{round}\n").as_bytes()));
        assert_eq!(b.line(), format!("from a\t{round}\n").as_bytes());
    }
    // At end of input both keep receiving.
    a.close_stdin();
    b.close_stdin();
    assert!(a.is_running() && b.is_running());
}

#[test]
fn dealer_timeout_exits_3_after_idling() {
    let endpoint = format!("tcp://127.0.0.1:{}", unused_port());
    let dealer = run(&["dealer", "-c", &endpoint, "-t", "200"], b"");
    assert_eq!(dealer.code(), Some(3), "{dealer:?}");
    assert!(dealer.stderr.is_empty(), "{dealer:?}");
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// A line of about 100 bytes numbered `i`, so that 200,000 of them (20 MB)
/// are far more than the kernel's socket buffers hold.
fn numbered_line(i: usize) -> String {
    format!("{i:08} {}\n", "x".repeat(91))
}

#[test]
fn sigterm_after_the_input_was_read_still_delivers_every_line() {
    const LINES: usize = 200_000;
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(HANG)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    // No send limit, so the push reads all its input while the pull reads
    // nothing: the lines wait in the push's queue, beyond the kernel's buffers.
    let mut push = Zmio::spawn(&["push", "-c", &endpoint, "--sndhwm", "0", "-v"]);
    let input: String = (0..LINES).map(numbered_line).collect();
    assert!(push.write(input.as_bytes()));
    push.close_stdin();
    push.wait_for_stderr(&format!("sent {LINES} messages; closing"));
    push.signal("TERM");
    for i in 0..LINES {
        let msg = pull
            .recv()
            .unwrap_or_else(|e| panic!("line {i} of {LINES} lost: {e}"));
        let expected = numbered_line(i);
        assert_eq!(msg, Msg::from(expected.trim_end_matches('\n')), "line {i}");
    }
    let push = push.finish();
    // It drained, then ended by the signal, as a shell expects.
    assert_eq!(push.status.signal(), Some(SIGTERM), "{push:?}");
}

#[test]
fn a_second_signal_ends_a_push_at_once_while_its_lines_are_undeliverable() {
    // Nobody ever binds here: with the default linger (forever) the push
    // would wait for ever to deliver its lines.
    let endpoint = format!("tcp://127.0.0.1:{}", unused_port());
    let mut push = Zmio::spawn(&["push", "-c", &endpoint, "-v"]);
    assert!(push.write(b"a\nb\nc\n"));
    push.close_stdin();
    push.wait_for_stderr("sent 3 messages; closing");
    push.signal("TERM");
    push.wait_for_stderr("signal 15: no more input");
    assert!(
        push.is_running(),
        "the push gave up its lines at the first signal"
    );
    let second = Instant::now();
    push.signal("INT");
    let push = push.finish();
    assert!(
        second.elapsed() < Duration::from_secs(2),
        "{:?}",
        second.elapsed()
    );
    assert_eq!(push.status.signal(), Some(SIGINT), "{push:?}");
}

#[test]
fn a_signal_ends_a_push_waiting_for_input() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(HANG)).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut push = Zmio::spawn(&["push", "-c", &endpoint, "-v"]);
    assert!(push.write(b"one\n"));
    assert_eq!(pull.recv().unwrap(), Msg::from("one"));
    // Stdin stays open: the push is waiting for its next line.
    push.signal("TERM");
    // Seen before stdin closes (`finish` closes it, an end of its own).
    push.wait_for_stderr("signal 15: no more input");
    let push = push.finish();
    assert_eq!(push.status.signal(), Some(SIGTERM), "{push:?}");
}

#[test]
fn a_signal_ends_a_push_waiting_for_room_and_its_queue_is_delivered() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(HANG)).unwrap();
    pull.set_rcvhwm(1).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let mut push = Zmio::spawn(&["push", "-c", &endpoint, "--sndhwm", "10", "-v"]);
    // Far more than the queues and kernel buffers hold: the push ends up
    // waiting for room, with stdin still open.
    let writer = {
        let mut stdin = push.stdin.take().expect("stdin is piped");
        thread::spawn(move || {
            let mut i = 0;
            while stdin.write_all(numbered_line(i).as_bytes()).is_ok() {
                i += 1;
            }
        })
    };
    let first = pull.recv().unwrap();
    assert_eq!(first, Msg::from(numbered_line(0).trim_end_matches('\n')));
    push.signal("TERM");
    push.wait_for_stderr("signal 15: no more input");
    // What it had queued still arrives, in order, and then it exits (it
    // stopped reading: its input never ends). Two things to wait for, so
    // the receive wait is short and the whole is bounded by HANG.
    pull.set_rcvtimeo(Some(Duration::from_millis(50))).unwrap();
    let deadline = Instant::now() + HANG;
    let mut next = 1;
    let push = loop {
        match pull.recv() {
            Ok(msg) => {
                assert_eq!(msg, Msg::from(numbered_line(next).trim_end_matches('\n')));
                next += 1;
            }
            Err(zmio::Error::TimedOut) if !push.is_running() => break push.finish(),
            Err(zmio::Error::TimedOut) => {
                assert!(
                    Instant::now() < deadline,
                    "the push did not exit after {next} lines"
                );
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(push.status.signal(), Some(SIGTERM), "{push:?}");
    writer.join().unwrap();
}
