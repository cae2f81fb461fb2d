//! SIGINT and SIGTERM for the types that send: the first signal stops taking
//! input so that what is queued can still be delivered (within `--linger`);
//! a second one ends the process at once, dropping the rest.
//!
//! The signals are taken by signal-hook's iterator on a thread of their own
//! (a handler may do next to nothing; a thread may do anything). The main
//! thread may be blocked in three places when the first signal comes, and
//! each is woken:
//!
//! - waiting for the next stdin line (read on a reader thread): the signal
//!   thread puts [`Input::Stop`] in the line channel, unless the channel is
//!   full, in which case the main thread is not waiting on it;
//! - waiting for room to send: it polls the socket together with
//!   [`Interrupt::wake_fd`], which the signal thread makes readable;
//! - in the context's drop, delivering what is queued: nothing to wake, the
//!   linger bounds it, and a second signal ends the process from the signal
//!   thread.
//!
//! The stop is recorded before either wake-up is sent, and the main thread
//! checks it before each wait, so no signal is missed between a check and a
//! wait. Types that only receive install nothing: they have nothing of
//! their own to deliver, and the default action (end at once) is right.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::SyncSender;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use zmio::Msg;

/// What the reader thread (or the signal thread) tells the main thread.
#[derive(Debug)]
pub enum Input {
    /// The next stdin line.
    Line(Msg),
    /// End of input. (The channel itself never closes while the signal
    /// thread holds its sender.)
    End,
    /// Stdin could not be read.
    Failed(io::Error),
    /// A signal asked to stop: look at [`Interrupt::signal`].
    Stop,
}

/// The first SIGINT or SIGTERM, once one came, and a way to be woken by it.
#[derive(Debug)]
pub struct Interrupt {
    /// Readable once the first signal came (the signal thread writes a byte).
    wake: UnixStream,
}

impl Interrupt {
    /// Takes SIGINT and SIGTERM from now on; the first is recorded and
    /// wakes the main thread (through `lines` and [`wake_fd`](Self::wake_fd)),
    /// the second ends the process by that signal, at once.
    pub fn install(lines: SyncSender<Input>) -> io::Result<Interrupt> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let (wake, mut wake_writer) = UnixStream::pair()?;
        std::thread::Builder::new()
            .name("zmio-signals".into())
            .spawn(move || {
                for signo in signals.forever() {
                    if taken().is_some() {
                        log::info!("signal {signo} again: exiting without delivering the rest");
                        // Exiting drops whatever is still queued.
                        die_by(signo);
                    }
                    // Logged before the stop is recorded: once it is, the
                    // main thread may finish and end the process at once.
                    log::info!(
                        "signal {signo}: no more input; delivering what is queued \
                         (a second signal drops it)"
                    );
                    SIGNAL.store(signo, Ordering::SeqCst);
                    // A full channel means the main thread is not waiting on it.
                    let _ = lines.try_send(Input::Stop);
                    let _ = wake_writer.write_all(&[1]);
                }
            })?;
        Ok(Interrupt { wake })
    }

    /// The first signal's number, once one came.
    pub fn signal(&self) -> Option<i32> {
        taken()
    }

    /// A descriptor that is readable once the first signal came, to poll
    /// with a socket.
    pub fn wake_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }
}

/// 0 until the first signal, then its number.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The first signal's number, once one came. A run during which one came
/// ends by it, even if its input had ended before (the signal still asked
/// the process to stop; what was queued was delivered first).
pub fn taken() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signo => Some(signo),
    }
}

/// Ends the process as the signal's default action would, so that a shell
/// sees it was interrupted (`$?` is 128 + the signal number, and a script
/// running it stops on SIGINT as it should). Should that fail, exits with
/// 128 + the signal number.
pub fn die_by(signo: i32) -> ! {
    let _ = io::stdout().flush();
    let _ = signal_hook::low_level::emulate_default_handler(signo);
    // Only reached if the signal did not end the process.
    let status = u8::try_from(128 + signo).unwrap_or(u8::MAX);
    std::process::exit(i32::from(status))
}
