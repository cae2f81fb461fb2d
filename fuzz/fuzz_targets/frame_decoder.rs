//! The frame decoder on arbitrary bytes: no panic, input consumed exactly
//! by the frames returned (and what a discarded message skips), and
//! decode -> encode -> decode gives the same frames, a discarded message's
//! frames dropped as the connection drops them (encoding is a fixpoint
//! after one round).
//!
//! Input: one selector octet (bit 0: a 4 KiB message limit; bit 1: the
//! smallest command cap, 64 KiB; bit 2: at most 4 frames per message), then
//! the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zmio_proto::command::RawCommand;
use zmio_proto::{Decoded, Encoder, Frame, FrameDecoder};

fn limits(selector: u8) -> (Option<u64>, u64, usize) {
    let max_msg = (selector & 1 != 0).then_some(4096);
    let max_command = if selector & 2 != 0 {
        64 * 1024
    } else {
        16 << 20
    };
    let max_frames = if selector & 4 != 0 { 4 } else { 65_536 };
    (max_msg, max_command, max_frames)
}

/// Encodes `frames` as our side would send them: data frames with
/// `push_frame`, commands (split into name and data) with `push_command`.
/// `None` if a command's body does not split into a name and data (we
/// never send such a command).
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

fn decode_all(selector: u8, bytes: &[u8]) -> (Vec<Frame>, BytesMut, bool) {
    let (max_msg, max_command, max_frames) = limits(selector);
    let mut frames = FrameDecoder::new(max_msg, max_command).with_max_frames(max_frames);
    let mut input = BytesMut::from(bytes);
    let mut out: Vec<Frame> = Vec::new();
    // Where the message in progress began in `out`, as the connection
    // would assemble it: its frames go when it is discarded.
    let mut msg_start = 0;
    loop {
        let before = input.len();
        // Skipping a discarded message consumes what it skips.
        let was_discarding = frames.is_discarding();
        let result = frames.decode(&mut input);
        let taken = before - input.len();
        match result {
            Ok(Some(Decoded::Frame(frame))) => {
                let header = if frame.body.len() > 255 { 9 } else { 2 };
                // The frame took its header (short or long form) and body,
                // no more (but the skipped rest of a discarded message).
                if was_discarding {
                    assert!(taken >= frame.body.len() + header);
                } else {
                    assert!(taken == frame.body.len() + 2 || taken == frame.body.len() + 9);
                    assert!(taken >= frame.body.len() + header);
                }
                assert!(!(frame.command && frame.more));
                let ends_message = !frame.command && !frame.more;
                out.push(frame);
                if ends_message {
                    msg_start = out.len();
                }
            }
            Ok(Some(Decoded::Discarding(_))) => {
                assert!(was_discarding || taken == 2 || taken == 9, "a header, no more");
                // The message's frames go; commands interleaved with them stay.
                let commands: Vec<Frame> = out.drain(msg_start..).filter(|f| f.command).collect();
                out.extend(commands);
                msg_start = out.len();
            }
            Ok(None) => {
                if !was_discarding && !frames.is_discarding() {
                    assert_eq!(taken, 0, "need-more must leave the input untouched");
                }
                if frames.awaiting() > 0 {
                    assert!(input.len() < frames.awaiting());
                } else {
                    assert!(input.len() < 9);
                }
                return (out, input, true);
            }
            Err(_) => {
                if !was_discarding {
                    assert_eq!(taken, 0, "an error consumes nothing");
                }
                return (out, input, false);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let (frames, _, _) = decode_all(selector, bytes);
    let Some(encoded) = encode_frames(&frames) else {
        return;
    };
    // What passed the limits once passes them again, encoded our way.
    let (again, rest, ok) = decode_all(selector, &encoded);
    assert!(
        ok && rest.is_empty(),
        "our encoding of decoded frames must decode whole"
    );
    assert_eq!(again, frames);
    assert_eq!(encode_frames(&again).as_deref(), Some(&encoded[..]));
});
