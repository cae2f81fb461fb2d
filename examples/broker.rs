//! A request-reply broker: REQ clients -> ROUTER frontend | proxy | DEALER
//! backend -> REP workers, all in one process, each on its own thread.
//!
//!     cargo run --example broker [clients] [workers] [requests per client]
//!
//! Clients and workers connect to the broker and never to each other, so
//! either side can grow or shrink without the other knowing. The ROUTER
//! frontend prefixes each request with the client's routing id and the
//! DEALER backend hands the requests round-robin to the workers; each REP
//! worker's reply carries that envelope back, so the ROUTER sends it to the
//! right client. When the clients are done, a REQ on the proxy's control
//! socket asks for its statistics and then stops it.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use zmio::{Context, Dealer, Msg, Proxy, Rep, Req, Router, Socket, SocketType};

/// Sends and receives give up after this, so a broken broker ends the
/// example with an error instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The first frame as text (lossy), empty if there is none.
fn first_frame(msg: &Msg) -> String {
    msg.frame(0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .unwrap_or_default()
}

fn socket<T: SocketType>(ctx: &Context) -> zmio::Result<Socket<T>> {
    let mut s = ctx.socket::<T>()?;
    s.set_rcvtimeo(Some(TIMEOUT))?;
    s.set_sndtimeo(Some(TIMEOUT))?;
    Ok(s)
}

fn arg(n: usize, default: usize) -> Result<usize, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("`{v}` is not a number")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clients = arg(1, 4)?;
    let workers = arg(2, 3)?;
    let requests = arg(3, 1000)?;
    let ctx = Context::new()?;

    let mut frontend = socket::<Router>(&ctx)?;
    let mut backend = socket::<Dealer>(&ctx)?;
    let mut control = socket::<Rep>(&ctx)?;
    let to_front = frontend.bind("tcp://127.0.0.1:*")?.to_string();
    let to_back = backend.bind("ipc://*")?.to_string();
    let to_control = control.bind("ipc://*")?.to_string();
    println!("broker: clients connect to {to_front}, workers to {to_back}");
    let broker = thread::spawn(move || {
        Proxy::new(&mut frontend, &mut backend)
            .control(&mut control)
            .run()
    });

    // Workers answer until the broker goes away (their receive times out).
    for w in 0..workers {
        let mut rep = socket::<Rep>(&ctx)?;
        rep.connect(&to_back)?;
        thread::spawn(move || {
            while let Ok(request) = rep.recv() {
                let mut reply = request.frame(0).map(|f| f.to_vec()).unwrap_or_default();
                reply.extend_from_slice(format!(" handled by worker {w}").as_bytes());
                if rep.send(reply).is_err() {
                    break;
                }
            }
        });
    }

    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| -> zmio::Result<_> {
            let mut req = socket::<Req>(&ctx)?;
            req.connect(&to_front)?;
            Ok(thread::spawn(
                move || -> Result<BTreeMap<String, usize>, String> {
                    let mut by_worker = BTreeMap::new();
                    for n in 0..requests {
                        let body = format!("request {n} from client {c}");
                        req.send(body.as_str()).map_err(|e| e.to_string())?;
                        let reply = req.recv().map_err(|e| e.to_string())?;
                        let reply = first_frame(&reply);
                        let worker = reply
                            .strip_prefix(&body)
                            .ok_or_else(|| format!("client {c} got {reply:?} for {body:?}"))?;
                        *by_worker.entry(worker.trim().to_owned()).or_default() += 1;
                    }
                    Ok(by_worker)
                },
            ))
        })
        .collect::<zmio::Result<_>>()?;
    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
    for handle in handles {
        let counts = handle.join().map_err(|_| "a client panicked")??;
        for (worker, n) in counts {
            *by_worker.entry(worker).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    let total = clients * requests;
    println!(
        "{total} requests from {clients} clients answered in {:.2?} ({:.0} round trips/s)",
        elapsed,
        total as f64 / elapsed.as_secs_f64()
    );
    for (worker, n) in &by_worker {
        println!("  {n:>6} {worker}");
    }

    let mut admin = socket::<Req>(&ctx)?;
    admin.connect(&to_control)?;
    admin.send("TERMINATE")?;
    admin.recv()?;
    let stats = broker.join().map_err(|_| "the broker panicked")??;
    println!(
        "broker forwarded {} requests ({} bytes) and {} replies ({} bytes)",
        stats.backend.messages_out,
        stats.backend.bytes_out,
        stats.frontend.messages_out,
        stats.frontend.bytes_out
    );
    Ok(())
}
