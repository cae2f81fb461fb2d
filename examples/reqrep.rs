//! Request-reply: a client and an echo server.
//!
//! The server (REP, bound) receives each request and sends it back; the
//! client (REQ, connected) sends a request and waits for its reply, in strict
//! turns: a REQ that sends twice without receiving gets an error, as does a
//! REP that replies before it received.
//!
//!     cargo run --example reqrep [requests]
//!
//! The same client works against a libzmq REP or ROUTER, and the server
//! against a libzmq REQ or DEALER: the envelope (an empty delimiter frame
//! before the body) is the one ZeroMQ uses.

use std::thread;
use std::time::{Duration, Instant};

use zmio::{Context, Error, Rep, Req};

fn serve(mut server: zmio::Socket<Rep>, requests: usize) -> zmio::Result<()> {
    for _ in 0..requests {
        let request = server.recv()?;
        // Every frame of the request goes back as it came.
        server.send(request)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests: usize = match std::env::args().nth(1) {
        None => 10_000,
        Some(n) => n
            .parse()
            .map_err(|_| format!("`{n}` is not a number of requests"))?,
    };
    let ctx = Context::new()?;

    let mut server = ctx.socket::<Rep>()?;
    server.set_rcvtimeo(Some(Duration::from_secs(5)))?;
    let endpoint = server.bind("tcp://127.0.0.1:*")?.to_string();
    println!("echo server on {endpoint}");
    let server = thread::spawn(move || serve(server, requests));

    let mut client = ctx.socket::<Req>()?;
    client.set_rcvtimeo(Some(Duration::from_secs(5)))?;
    client.connect(&endpoint)?;

    // Turns are enforced: a reply cannot be read before a request was sent.
    match client.recv() {
        Err(Error::InvalidState(why)) => println!("recv before send refused: {why}"),
        other => println!("unexpected: {other:?}"),
    }

    let start = Instant::now();
    for i in 0..requests {
        let request = format!("request {i}");
        client.send(request.as_str())?;
        let reply = client.recv()?;
        if reply.frame(0).map(|f| &f[..]) != Some(request.as_bytes()) {
            return Err(format!("reply {i} does not echo its request").into());
        }
    }
    let elapsed = start.elapsed();
    server.join().expect("the server thread panicked")?;
    println!(
        "{requests} round trips in {:.3} s: {:.1} us per round trip",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / requests.max(1) as f64
    );
    Ok(())
}
