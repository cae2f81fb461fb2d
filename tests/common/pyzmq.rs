//! A libzmq peer process (tests/peers/peer.py, through pyzmq) for the
//! hostile-peer and fault tests, plus the process's memory and descriptor
//! figures they check. Included with `#[path]` by the test files that need
//! it, so the other test crates do not compile it.
//!
//! Like tests/interop.rs, the tests fail (never skip) when python3 cannot
//! import zmq, unless ZMIO_SKIP_INTEROP=1 asks to skip them.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single step of a peer may take before the test fails.
pub const STEP: Duration = Duration::from_secs(15);

const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/peer.py");

/// Whether to skip: only when ZMIO_SKIP_INTEROP=1 asks for it. Otherwise
/// python3 with pyzmq must be there, or the test fails saying how to get it.
pub fn skip_pyzmq() -> bool {
    if std::env::var("ZMIO_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        eprintln!("ZMIO_SKIP_INTEROP=1: skipping a test that needs a libzmq peer");
        return true;
    }
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import zmq"])
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    });
    if let Err(why) = check {
        panic!(
            "this test needs python3 with pyzmq ({why}). Run scripts/test, which installs \
             pyzmq, or set ZMIO_SKIP_INTEROP=1 to skip it."
        );
    }
    false
}

/// One running peer.py. Dropping it kills the process.
pub struct Peer {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    fn spawn(kind: &str, how: &str, endpoint: &str, options: &[&str]) -> Peer {
        let name = format!("libzmq {kind} ({how} {endpoint})");
        let mut child = Command::new("python3")
            .arg(PEER_SCRIPT)
            .args([kind, how, endpoint])
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdin = child.stdin.take();
        Peer {
            name,
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// A peer bound to `endpoint` (port `*` allowed), and the endpoint it got.
    pub fn bind(kind: &str, endpoint: &str, options: &[&str]) -> (Peer, String) {
        let mut peer = Peer::spawn(kind, "bind", endpoint, options);
        let line = peer.line();
        let bound = line
            .strip_prefix("bound ")
            .unwrap_or_else(|| peer.fail(&format!("expected `bound ...`, got {line:?}")))
            .to_owned();
        (peer, bound)
    }

    /// A peer connecting to `endpoint`.
    pub fn connect(kind: &str, endpoint: &str, options: &[&str]) -> Peer {
        let mut peer = Peer::spawn(kind, "connect", endpoint, options);
        let line = peer.line();
        if line != "connected" {
            peer.fail(&format!("expected `connected`, got {line:?}"));
        }
        peer
    }

    /// Fails the test with what the peer wrote on stderr.
    pub fn fail(&self, what: &str) -> ! {
        let deadline = Instant::now() + Duration::from_millis(500);
        while self.stderr.lock().unwrap().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{}: {what}\n--- peer stderr ---\n{}",
            self.name,
            self.stderr.lock().unwrap()
        );
    }

    /// The peer's next line of output, waiting at most [`STEP`].
    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(STEP) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => self.fail("no answer in time"),
            Err(RecvTimeoutError::Disconnected) => self.fail("exited early"),
        }
    }

    /// Hands the peer a command without waiting for its answer.
    pub fn start(&mut self, json: &str) {
        let stdin = self.stdin.as_mut().expect("peer stdin open");
        if let Err(e) = writeln!(stdin, "{json}").and_then(|()| stdin.flush()) {
            self.fail(&format!("cannot write a command: {e}"));
        }
    }

    /// Expects the answer `ok` to the last command.
    pub fn expect_ok(&mut self, what: &str) {
        let answer = self.line();
        if answer != "ok" {
            self.fail(&format!("{what} answered {answer:?}"));
        }
    }

    /// Sends the messages "0", "1", ... "count-1" and waits until they are
    /// queued on the libzmq socket.
    pub fn send_seq(&mut self, count: usize) {
        self.start(&format!(r#"{{"op":"send_seq","count":{count}}}"#));
        self.expect_ok("send_seq");
    }

    /// Starts receiving "0", "1", ... "count-1"; [`Peer::expect_ok`]
    /// collects the verdict.
    pub fn start_recv_seq(&mut self, count: usize) {
        self.start(&format!(r#"{{"op":"recv_seq","count":{count}}}"#));
    }

    /// One message of one frame, if it arrives within `timeout`.
    pub fn recv_one(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        self.start(&format!(
            r#"{{"op":"recv","timeout_ms":{}}}"#,
            timeout.as_millis()
        ));
        let answer = self.line();
        if answer == "timeout" {
            return None;
        }
        // msg ["hex:..."]: one small frame is all these tests send.
        let Some(hex) = answer
            .strip_prefix("msg [\"hex:")
            .and_then(|rest| rest.strip_suffix("\"]"))
        else {
            self.fail(&format!("recv answered {answer:?}"))
        };
        Some(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex from peer"))
                .collect(),
        )
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. "KILL", "STOP", "CONT") to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// SIGKILL, then waits for the process to be gone.
    pub fn kill_hard(mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    /// Asks the peer to exit and checks it does, successfully, within
    /// [`STEP`] (it may linger up to 5 s delivering what it queued).
    pub fn finish(mut self) {
        self.start(r#"{"op":"exit"}"#);
        let answer = self.line();
        if answer != "bye" {
            self.fail(&format!("exit answered {answer:?}"));
        }
        self.stdin.take();
        let deadline = Instant::now() + STEP;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return,
                Ok(Some(status)) => self.fail(&format!("exited with {status}")),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => self.fail("did not exit after `exit`"),
                Err(e) => self.fail(&format!("cannot wait for it: {e}")),
            }
        }
    }

    /// Asks the peer to exit and waits for it (its sends are lingered out).
    pub fn exit(mut self) {
        self.start(r#"{"op":"exit"}"#);
        let answer = self.line();
        if answer != "bye" {
            self.fail(&format!("exit answered {answer:?}"));
        }
        self.stdin.take();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // SIGKILL ends a stopped (SIGSTOP) process too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line of /proc/self/status in kB (e.g. "VmRSS", "VmHWM").
pub fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The process's resident memory in bytes.
pub fn rss_bytes() -> u64 {
    status_kb("VmRSS") * 1024
}

/// How many file descriptors the process holds.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Waits until `cond` holds, polling, or fails after `within` saying `what`.
#[track_caller]
pub fn wait_until(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what} ({} fds open)",
            open_fds()
        );
        thread::sleep(Duration::from_millis(10));
    }
}
