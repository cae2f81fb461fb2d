//! Load: 10,000 concurrent TCP connections to one PULL socket, each
//! sending one message; every message is delivered, the memory each idle
//! connection costs is measured (and bounded), and the file descriptors
//! come back once the clients go.
//!
//! The clients live in a second process (this test binary again, running
//! only `client_process`), so that each process needs one descriptor per
//! connection rather than two: 10,000 connections in one process would need
//! more than the 20,000 descriptors some machines allow at most (`ulimit
//! -Hn`). Both processes raise their soft limit to what they need with the
//! `rlimit` crate; a hard limit below that fails the test with the reason.
//!
//! The clients are raw TCP sockets writing a canned ZMTP handshake and one
//! message, from a few threads. Each waits for zmio's greeting before its
//! thread opens the next one, so the burst never overflows the listen
//! backlog (100, as libzmq's); overflowing it only measures the kernel's
//! SYN retransmission timer.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::PATIENCE;
use zmio::{Context, Pull};

const CONNECTIONS: usize = 10_000;
const CLIENT_THREADS: usize = 4;
/// Descriptors a process needs besides the connections.
const SPARE_FDS: u64 = 256;
/// Set (to the PULL's address) in the client process.
const CLIENT_ENV: &str = "ZMIO_LOAD_CLIENTS_TO";

/// Raises the soft descriptor limit to `need`, or fails saying why not.
fn raise_fd_limit(need: u64) {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
    assert!(
        hard >= need,
        "this test needs {need} file descriptors per process but the hard limit \
         (ulimit -Hn) is {hard}: raise it (e.g. in /etc/security/limits.conf)"
    );
    let got = rlimit::increase_nofile_limit(need).expect("raise the descriptor limit");
    assert!(
        got >= need,
        "could only raise the descriptor limit to {got}"
    );
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kb * 1024
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// What client `i` sends: a ZMTP 3.1 NULL greeting, READY as a PUSH, and
/// the one-frame message `client <i>`.
fn client_bytes(i: usize) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[0] = 0xFF;
    b[9] = 0x7F;
    b[10] = 3;
    b[11] = 1;
    b[12..16].copy_from_slice(b"NULL");
    let mut ready = vec![5u8];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&4u32.to_be_bytes());
    ready.extend_from_slice(b"PUSH");
    b.extend_from_slice(&[0x04, ready.len() as u8]);
    b.extend_from_slice(&ready);
    let body = format!("client {i}");
    b.extend_from_slice(&[0x00, body.len() as u8]);
    b.extend_from_slice(body.as_bytes());
    b
}

/// Not a test on its own: the client side of
/// `ten_thousand_connections_each_deliver_a_message`, run in a child
/// process. Does nothing unless that test started it.
#[test]
fn client_process() {
    let Ok(addr) = std::env::var(CLIENT_ENV) else {
        return;
    };
    raise_fd_limit(CONNECTIONS as u64 + SPARE_FDS);
    let per_thread = CONNECTIONS / CLIENT_THREADS;
    let threads: Vec<_> = (0..CLIENT_THREADS)
        .map(|t| {
            let addr = addr.clone();
            thread::spawn(move || {
                (t * per_thread..(t + 1) * per_thread)
                    .map(|i| {
                        let mut s = TcpStream::connect(&addr).expect("connect");
                        s.set_read_timeout(Some(PATIENCE)).unwrap();
                        s.write_all(&client_bytes(i)).expect("write");
                        let mut signature = [0u8; 10];
                        s.read_exact(&mut signature).expect("zmio's greeting");
                        s
                    })
                    .collect::<Vec<TcpStream>>()
            })
        })
        .collect();
    let conns: Vec<TcpStream> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    println!("connected {}", conns.len());
    // Hold every connection open until the parent is done measuring.
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    drop(conns);
}

#[test]
fn ten_thousand_connections_each_deliver_a_message() {
    if std::env::var(CLIENT_ENV).is_ok() {
        return;
    }
    raise_fd_limit(CONNECTIONS as u64 + SPARE_FDS);
    let ctx = Context::new().unwrap();
    let mut pull = common::socket::<Pull>(&ctx);
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap().to_string();
    let fds_before = open_fds();
    let rss_before = rss_bytes();

    let mut clients = Command::new(std::env::current_exe().unwrap())
        .args([
            "client_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CLIENT_ENV, endpoint.strip_prefix("tcp://").unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the client process");
    // A client process that dies must fail the test, not hang it: its
    // messages stop arriving and recv times out after PATIENCE.
    let mut seen = vec![false; CONNECTIONS];
    for n in 0..CONNECTIONS {
        let msg = pull
            .recv()
            .unwrap_or_else(|e| panic!("message {n} of {CONNECTIONS}: {e}"));
        let text = std::str::from_utf8(msg.frame(0).unwrap()).unwrap();
        let i: usize = text
            .strip_prefix("client ")
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("unexpected message {text:?}"));
        assert!(!seen[i], "client {i}'s message twice");
        seen[i] = true;
    }
    // The client process says when it holds every connection (libtest
    // may print its own words on the same line first). Read on a thread,
    // so a hung client fails the test instead of hanging it.
    let stdout = clients.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // Read to the end: a closed pipe would fail the client's
            // last words.
            if let Some((_, n)) = line.split_once("connected ") {
                let _ = tx.send(n.trim().to_owned());
            }
        }
    });
    let connected = rx
        .recv_timeout(PATIENCE)
        .expect("the client process reports its connections");
    assert_eq!(connected, CONNECTIONS.to_string());

    // Every connection is open and idle now.
    let fds_open = open_fds();
    assert!(
        fds_open >= fds_before + CONNECTIONS,
        "{fds_open} descriptors open"
    );
    let rss_open = rss_bytes();
    let per_connection = rss_open.saturating_sub(rss_before) / CONNECTIONS as u64;
    eprintln!(
        "{CONNECTIONS} idle connections: RSS {} MiB -> {} MiB, {per_connection} bytes each",
        rss_before >> 20,
        rss_open >> 20
    );
    // A bound with room: the read buffer starts at 8 KiB and shrinks only
    // when a connection reads little, plus the session, pipe and timers.
    assert!(
        per_connection < 64 * 1024,
        "each idle connection costs {per_connection} bytes"
    );

    writeln!(clients.stdin.take().unwrap(), "close").unwrap();
    assert!(
        clients.wait().unwrap().success(),
        "the client process failed"
    );
    let deadline = std::time::Instant::now() + PATIENCE;
    while open_fds() > fds_before + 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "descriptors did not come back: {} open, {fds_before} before",
            open_fds()
        );
        thread::sleep(Duration::from_millis(10));
    }
}
