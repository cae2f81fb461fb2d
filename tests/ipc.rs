//! The ipc transport (Unix domain stream sockets): the patterns work over it
//! as over tcp, the socket file goes away on unbind and close, a stale file
//! from a dead process does not stop a bind, a live one does, and a sender
//! that closes while its receiver sits at the high-water mark loses nothing.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use zmio::{Context, Error, Msg, Pub, Pull, Push, Rep, Req, Sub, Transport};

const PATIENCE: Duration = Duration::from_secs(10);

/// A path in the temporary directory unique to this process and `name`.
fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("zmio-test-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn text(msg: &Msg) -> String {
    String::from_utf8_lossy(msg.frame(0).unwrap()).into_owned()
}

#[test]
fn push_pull_over_a_path_and_the_file_goes_with_unbind() {
    let ctx = Context::new().unwrap();
    let path = socket_path("unbind");
    let endpoint = format!("ipc://{}", path.display());
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let bound = pull.bind(&endpoint).unwrap();
    assert_eq!(bound.transport(), Transport::Ipc);
    assert_eq!(bound.to_string(), endpoint);
    assert!(path.exists());

    let mut push = ctx.socket::<Push>().unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..100 {
        push.send(Msg::from_frames([format!("{i}"), String::new()]))
            .unwrap();
    }
    for i in 0..100 {
        let msg = pull.recv().unwrap();
        assert_eq!(text(&msg), format!("{i}"));
        assert_eq!(msg.frame_count(), 2);
    }
    pull.unbind(&endpoint).unwrap();
    assert!(!path.exists(), "unbind removes the socket file");
}

#[test]
fn the_file_goes_when_the_socket_closes() {
    let ctx = Context::new().unwrap();
    let path = socket_path("close");
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.bind(&format!("ipc://{}", path.display())).unwrap();
    assert!(path.exists());
    drop(pull);
    assert!(!path.exists(), "close removes the socket file");
}

#[test]
fn a_wildcard_bind_picks_a_fresh_path() {
    let ctx = Context::new().unwrap();
    let mut rep = ctx.socket::<Rep>().unwrap();
    rep.set_rcvtimeo(Some(PATIENCE)).unwrap();
    let bound = rep.bind("ipc://*").unwrap();
    let path = bound.ipc_path().expect("a real path").to_owned();
    assert!(path.exists());
    let mut req = ctx.socket::<Req>().unwrap();
    req.set_rcvtimeo(Some(PATIENCE)).unwrap();
    req.connect(&bound.to_string()).unwrap();
    req.send("ping").unwrap();
    let request = rep.recv().unwrap();
    rep.send(request).unwrap();
    assert_eq!(text(&req.recv().unwrap()), "ping");
    drop(rep);
    assert!(!path.exists());
}

#[test]
fn a_stale_file_from_a_dead_process_does_not_stop_a_bind_but_a_live_one_does() {
    let path = socket_path("stale");
    // A listener that goes away without removing its file, as a killed
    // process leaves it.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let ctx = Context::new().unwrap();
    let endpoint = format!("ipc://{}", path.display());
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.bind(&endpoint).unwrap();

    let mut second = ctx.socket::<Pull>().unwrap();
    let err = second.bind(&endpoint).unwrap_err();
    assert!(matches!(err, Error::AddrInUse(_)), "{err}");

    // A file that is not a socket is never removed.
    let plain = socket_path("plain-file");
    std::fs::write(&plain, b"keep me").unwrap();
    assert!(second.bind(&format!("ipc://{}", plain.display())).is_err());
    assert_eq!(std::fs::read(&plain).unwrap(), b"keep me");
    std::fs::remove_file(&plain).unwrap();
}

#[test]
fn connect_before_bind_and_reconnect_after_the_listener_restarts() {
    let ctx = Context::new().unwrap();
    let path = socket_path("restart");
    let endpoint = format!("ipc://{}", path.display());
    let mut push = ctx.socket::<Push>().unwrap();
    push.set_reconnect_ivl(Some(Duration::from_millis(20)))
        .unwrap();
    push.connect(&endpoint).unwrap();
    push.send("early").unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    pull.bind(&endpoint).unwrap();
    assert_eq!(text(&pull.recv().unwrap()), "early");
    drop(pull);

    let mut restarted = ctx.socket::<Pull>().unwrap();
    restarted
        .set_rcvtimeo(Some(Duration::from_millis(50)))
        .unwrap();
    restarted.bind(&endpoint).unwrap();
    // As over tcp, what was written into the dying connection is lost with
    // it; later messages take the new one.
    for n in 0.. {
        assert!(n < 200, "never reconnected");
        push.send(format!("after{n}")).unwrap();
        if restarted.recv().is_ok() {
            break;
        }
    }
}

#[test]
fn pub_sub_over_an_abstract_name() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let ctx = Context::new().unwrap();
    let endpoint = format!("ipc://@zmio-test-{}", std::process::id());
    let mut publisher = ctx.socket::<Pub>().unwrap();
    assert_eq!(publisher.bind(&endpoint).unwrap().to_string(), endpoint);
    let mut sub = ctx.socket::<Sub>().unwrap();
    sub.connect(&endpoint).unwrap();
    sub.subscribe("a").unwrap();
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    for n in 0.. {
        assert!(n < 500, "the subscription never arrived");
        publisher.send("b-not-wanted").unwrap();
        publisher.send("a-wanted").unwrap();
        if let Ok(msg) = sub.recv() {
            assert_eq!(text(&msg), "a-wanted");
            break;
        }
    }
}

/// libzmq loses the tail of the queue here (its issue 4660): the sender
/// closes while the receiver is at its high-water mark and not reading.
/// zmio's linger keeps the connection until everything is written.
#[test]
fn a_sender_closing_while_the_receiver_is_at_its_high_water_mark_loses_nothing() {
    const COUNT: usize = 20_000;
    let path = socket_path("hwm-close");
    let endpoint = format!("ipc://{}", path.display());
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket::<Pull>().unwrap();
    pull.set_rcvhwm(10).unwrap();
    pull.set_rcvtimeo(Some(PATIENCE)).unwrap();
    pull.bind(&endpoint).unwrap();

    let (closing_tx, closing_rx) = mpsc::channel();
    let sender = thread::spawn(move || {
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket::<Push>().unwrap();
        push.set_sndhwm(10).unwrap();
        push.connect(&endpoint).unwrap();
        let payload = bytes::Bytes::from(vec![b'x'; 1000]);
        // Blocks as the receiver's queue and the socket buffers fill.
        let mut sent = 0;
        push.set_sndtimeo(Some(Duration::from_millis(200))).unwrap();
        while sent < COUNT {
            match push.send(payload.clone()) {
                Ok(()) => sent += 1,
                // The receiver is not reading yet: everything is full. Close
                // now, with the rest still to send from a fresh socket.
                Err(Error::TimedOut) => break,
                Err(e) => panic!("{e}"),
            }
        }
        closing_tx.send(sent).unwrap();
        // Default linger: the close (and the context's drop) wait until all
        // of it is delivered.
        drop(push);
        drop(ctx);
        sent
    });
    let sent = closing_rx.recv().unwrap();
    assert!(
        sent < COUNT,
        "the receiver's high-water mark never pushed back"
    );
    for i in 0..sent {
        match pull.recv() {
            Ok(msg) => assert_eq!(msg.size(), 1000),
            Err(e) => panic!("message {i} of {sent} lost: {e}"),
        }
    }
    assert_eq!(sender.join().unwrap(), sent);
    pull.set_rcvtimeo(Some(Duration::from_millis(50))).unwrap();
    assert!(matches!(pull.recv(), Err(Error::TimedOut)));
}
