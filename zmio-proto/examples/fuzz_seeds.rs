//! Writes the seed corpus of the fuzz targets in `fuzz/`: valid ZMTP
//! traffic encoded by zmio's own codec (greetings, READY commands,
//! messages, commands), so nothing in the corpus is typed by hand.
//!
//! `cargo run -p zmio-proto --example fuzz_seeds -- fuzz/corpus`

use std::fs;
use std::path::{Path, PathBuf};

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use zmio_proto::command::RawCommand;
use zmio_proto::{Connection, ConnectionConfig, Decoded, Encoder, Frame, FrameDecoder, SocketKind};

/// Encodes `frames` as zmio sends them; `None` for a command body that
/// does not split into a name and data.
fn encode_frames(frames: &[Frame]) -> Option<Vec<u8>> {
    let mut enc = Encoder::new();
    for frame in frames {
        if frame.command {
            let raw = RawCommand::parse(frame.body.clone()).ok()?;
            enc.push_command(&raw.name, &[&raw.data]);
        } else {
            enc.push_frame(frame.more, &frame.body);
        }
    }
    let mut out = BytesMut::new();
    enc.drain_into(&mut out);
    Some(out.to_vec())
}

fn data(more: bool, body: &[u8]) -> Frame {
    Frame {
        more,
        command: false,
        body: Bytes::copy_from_slice(body),
    }
}

fn command(name: &[u8], payload: &[u8]) -> Frame {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body.extend_from_slice(payload);
    Frame {
        more: false,
        command: true,
        body: Bytes::from(body),
    }
}

/// Traffic after the handshake: one-frame, multipart, empty, 255/256-byte
/// (short/long boundary) and large frames, and the commands of a 3.1 peer.
fn traffic() -> Vec<Vec<Frame>> {
    vec![
        vec![data(false, b"hello")],
        vec![data(true, b"id"), data(true, b""), data(false, b"body")],
        vec![data(false, b"")],
        vec![data(false, &[7u8; 255]), data(false, &[8u8; 256])],
        vec![data(true, &[9u8; 3000]), data(false, b"tail")],
        vec![command(b"PING", b"\x00\x0actx"), command(b"PONG", b"ctx")],
        vec![
            command(b"SUBSCRIBE", b"topic"),
            command(b"CANCEL", b"topic"),
        ],
        vec![data(false, b"\x01topic"), data(false, b"\x00topic")],
    ]
}

/// The greeting and READY a `peer` sends to a socket of kind `ours`.
fn handshake(ours: SocketKind, peer: SocketKind) -> Vec<u8> {
    let now = Instant::now();
    let mut us = Connection::new(ConnectionConfig::new(ours), now);
    let mut them = Connection::new(ConnectionConfig::new(peer), now);
    let mut theirs = BytesMut::new();
    them.drain_transmit(&mut theirs);
    let mut our_bytes = BytesMut::new();
    us.drain_transmit(&mut our_bytes);
    // Our greeting makes the peer queue its READY.
    let _ = them.handle_input(&mut our_bytes, now);
    them.drain_transmit(&mut theirs);
    theirs.to_vec()
}

/// The data of the READY command in `stream` (after the 64-byte greeting).
fn ready_metadata(stream: &[u8]) -> Option<Bytes> {
    let mut input = BytesMut::from(stream.get(64..)?);
    let Decoded::Frame(frame) = FrameDecoder::new(None, 1 << 16).decode(&mut input).ok()?? else {
        return None;
    };
    let name_len = usize::from(*frame.body.first()?);
    Some(frame.body.slice(1 + name_len..))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)
}

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let traffic = traffic();

    for (i, frames) in traffic.iter().enumerate() {
        let Some(bytes) = encode_frames(frames) else {
            continue;
        };
        // Selector octet 0: no size limit (see fuzz_targets/frame_decoder.rs).
        let mut seed = vec![0u8];
        seed.extend_from_slice(&bytes);
        write(&root.join("frame_decoder"), &format!("traffic-{i}"), &seed)?;
    }

    // Pairs of kinds that may talk (and one that may not: PUSH to PUSH).
    let pairs = [
        (SocketKind::Pull, SocketKind::Push),
        (SocketKind::Router, SocketKind::Dealer),
        (SocketKind::Rep, SocketKind::Req),
        (SocketKind::Pub, SocketKind::Sub),
        (SocketKind::XPub, SocketKind::XSub),
        (SocketKind::Sub, SocketKind::Pub),
        (SocketKind::Pair, SocketKind::Pair),
        (SocketKind::Push, SocketKind::Push),
    ];
    for (ours, peer) in pairs {
        let stream = handshake(ours, peer);
        let selector = SocketKind::ALL.iter().position(|k| *k == ours).unwrap_or(0) as u8;
        let name = format!("{}-from-{}", ours.as_str(), peer.as_str()).to_lowercase();
        // Connection target: selector octet, chunk size octet (0: all at once), stream.
        let mut seed = vec![selector, 0];
        seed.extend_from_slice(&stream);
        for frames in &traffic {
            if let Some(bytes) = encode_frames(frames) {
                seed.extend_from_slice(&bytes);
            }
        }
        write(&root.join("connection"), &name, &seed)?;
        let mut split = seed.clone();
        split[1] = 7;
        write(&root.join("connection"), &format!("{name}-by-7"), &split)?;
        if let Some(metadata) = ready_metadata(&stream) {
            write(&root.join("metadata"), &format!("ready-{name}"), &metadata)?;
        }
    }
    // A READY with an Identity (a DEALER with a routing id set announces it).
    let mut with_identity = Vec::new();
    for (name, value) in [("Socket-Type", &b"DEALER"[..]), ("Identity", b"client-7")] {
        with_identity.push(name.len() as u8);
        with_identity.extend_from_slice(name.as_bytes());
        with_identity.extend_from_slice(&(value.len() as u32).to_be_bytes());
        with_identity.extend_from_slice(value);
    }
    write(
        &root.join("metadata"),
        "ready-with-identity",
        &with_identity,
    )?;
    Ok(())
}
