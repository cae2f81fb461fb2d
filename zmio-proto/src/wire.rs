//! Wire constants of ZMTP 3.x (RFC 23, RFC 37): flag bits, greeting layout,
//! and the limits this implementation enforces on what a peer may send.

/// Frame flag bit 0: more frames of this message follow.
pub const FLAG_MORE: u8 = 0x01;
/// Frame flag bit 1: the size field is 8 octets (big-endian) instead of 1.
pub const FLAG_LONG: u8 = 0x02;
/// Frame flag bit 2: the frame is a command, not message data.
pub const FLAG_COMMAND: u8 = 0x04;
/// Frame flag bits 3-7: "reserved for future use and MUST be zero" (RFC 37, Framing).
pub const FLAG_RESERVED: u8 = 0xF8;

/// Header bytes of a short frame: flags + 1-octet size.
pub const SHORT_HEADER_LEN: usize = 2;
/// Header bytes of a long frame: flags + 8-octet size.
pub const LONG_HEADER_LEN: usize = 9;
/// Largest body a short frame can carry.
pub const MAX_SHORT_BODY: usize = 255;
/// "A long frame has a body of 0 to 2^63-1 octets" (RFC 37, Framing).
pub const MAX_FRAME_BODY: u64 = i64::MAX as u64;

/// The greeting is always 64 octets.
pub const GREETING_LEN: usize = 64;
/// Offset of the first signature octet (`0xFF`).
pub const SIGNATURE_START: usize = 0;
/// Offset of the last signature octet (`0x7F`; only bit 0 is checked, as libzmq does).
pub const SIGNATURE_END: usize = 9;
/// Offset of the major version octet.
pub const VERSION_MAJOR_OFFSET: usize = 10;
/// Offset of the minor version octet.
pub const VERSION_MINOR_OFFSET: usize = 11;
/// Offset of the 20-octet, null-padded mechanism name.
pub const MECHANISM_OFFSET: usize = 12;
/// Length of the mechanism field.
pub const MECHANISM_LEN: usize = 20;
/// Offset of the as-server octet.
pub const AS_SERVER_OFFSET: usize = 32;
/// The ZMTP major version we speak.
pub const VERSION_MAJOR: u8 = 3;
/// The ZMTP minor version we speak (3.1, RFC 37).
pub const VERSION_MINOR: u8 = 1;

/// A message-frame body at least this large is queued for transmission as its
/// own [`bytes::Bytes`] chunk (zero copy, one more `IoSlice` in the vectored
/// write); smaller frames are copied into the coalescing staging buffer.
pub const LARGE_BODY_THRESHOLD: usize = 2048;

/// A received frame body shorter than this is copied out of the read buffer
/// into its own allocation; a longer one is sliced out of it (zero copy).
///
/// A slice keeps its whole read buffer alive (up to 1 MiB in zmio's engine),
/// so an application that keeps a few small messages out of many would pin
/// a buffer per kept message: 2,000 kept 10-byte messages held 256 MB. The
/// same 2 KiB as the encoder's [`LARGE_BODY_THRESHOLD`]: below it a copy
/// costs little (256 B bodies decode about 8% slower in `benches/codec.rs`);
/// at 64 KiB a 4 KiB body's decode took 3.8 times as long (a malloc and a
/// memcpy per message), which the throughput at 4 KiB would pay. A kept
/// body of 2 KiB or more may still pin a buffer up to 512 times its size.
pub const COPY_BODY_THRESHOLD: usize = LARGE_BODY_THRESHOLD;

/// Command size cap when the socket has no `max_msg_size` (256 MiB). Commands
/// (READY metadata, SUBSCRIBE topics, PING) are buffered whole before they are
/// parsed, so a peer must not be able to make us buffer an unbounded one; a
/// message is as large as the peer likes then, so the cap only keeps a
/// command from being larger than any sane subscription (libzmq takes a
/// 20 MB SUBSCRIBE, and has no cap but the message size). With a
/// `max_msg_size`, the cap is that size but never below [`MIN_COMMAND_SIZE`].
pub const DEFAULT_MAX_COMMAND_SIZE: u64 = 256 * 1024 * 1024;

/// Floor of the command size cap (64 KiB), so a small `max_msg_size` cannot
/// make an ordinary READY (up to 255-byte identity plus metadata) fail.
pub const MIN_COMMAND_SIZE: u64 = 64 * 1024;

/// Most frames one message may have, unless configured (2^20). A received
/// frame costs a 32-byte `Bytes` handle even when empty, so without a cap an
/// unterminated message of 2-byte empty frames would grow memory 16 times
/// faster than the peer sends, whatever `max_msg_size` says of body bytes.
/// At 2^20 a message's handles take at most 32 MiB (64 while its vector
/// grows), and a libzmq peer's legitimate many-frame messages (100,000
/// frames, which libzmq, having no cap, accepts) fit ten times over. A
/// message over the cap is discarded as it arrives, not buffered.
pub const MAX_FRAMES_PER_MESSAGE: usize = 1 << 20;

/// Consecutive messages over a limit a peer may send before the connection
/// ends. One oversized message in a stream is discarded and costs only
/// itself; a peer that sends nothing but oversized messages is misconfigured
/// or hostile, and the disconnect (with its monitor event and log line)
/// tells its operator.
pub const MAX_DISCARDS_IN_A_ROW: u32 = 16;

/// Largest handshake metadata (a peer's READY properties) accepted, unless
/// configured: far above what libzmq sends (a socket type and an identity of
/// at most 255 bytes), small enough that a handshake costs little memory.
pub const DEFAULT_MAX_METADATA_SIZE: u64 = 8 * 1024;

/// Most properties a READY command may carry. We keep only `Socket-Type` and
/// `Identity`, but parsing stops a peer from sending an absurd number.
pub const MAX_PROPERTIES: usize = 128;

/// "The ping-context ... MUST not exceed 16 octets" (RFC 37, Connection Heartbeating).
pub const MAX_PING_CONTEXT: usize = 16;
