//! Drive teleport-core yourself: a blocking `std::net::TcpStream`, no async
//! runtime, calling the example server. Prints every reply and push.
//!
//! `cargo run -p teleport-host-examples --bin custom_io -- --addr 127.0.0.1:9090`

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use clap::Parser;
use teleport_core::conn::{Config, Connection, Event, Growable, Outcome, Outgoing};
use teleport_core::router::{NoRoutes, Role};
use teleport_core::xfer::XferFilters;
use teleport_core::{Instant, Seq};

#[derive(Parser)]
struct Args {
    /// Server TCP address.
    #[arg(long, default_value = "127.0.0.1:9090")]
    addr: String,
    /// Seconds to wait for all replies.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

/// The core's clock: milliseconds since the program started.
fn now(epoch: StdInstant) -> Instant {
    Instant::from_millis(epoch.elapsed().as_millis() as u64)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("custom_io: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> std::io::Result<bool> {
    let epoch = StdInstant::now();
    let mut sock = TcpStream::connect(&args.addr)?;
    sock.set_nodelay(true)?;
    let mut config = Config::new();
    config.context_age = Some(Duration::from_secs(args.timeout));
    let mut conn: Connection<Growable, NoRoutes> =
        Connection::new(config, Role::Client, NoRoutes, now(epoch))
            .with_xfer_filters(Arc::new(XferFilters::with_defaults()));

    // Queue three calls at once; they go out in one write.
    let t = now(epoch);
    let add = conn
        .call("/math/add", Outgoing::new(b'j', b"[1,2,3,4,5]"), t)
        .map_err(std::io::Error::other)?;
    let meta = [("peer_id", "110")];
    let home = conn
        .call(
            "/home/test",
            Outgoing::new(b'j', br#"{"author":"henrylee2cn"}"#)
                .with_meta(&meta[..])
                .with_xfer(b"g"),
            t,
        )
        .map_err(std::io::Error::other)?;
    let fail = conn
        .call("/err/fail", Outgoing::new(b'j', b""), t)
        .map_err(std::io::Error::other)?;

    let mut pending: Vec<Seq> = vec![add, home, fail];
    let mut ok = true;
    while !pending.is_empty() && !conn.is_finished() {
        let out = conn.poll_transmit();
        if !out.is_empty() {
            sock.write_all(out)?;
            let n = out.len();
            conn.advance_transmit(n);
        }
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Outcome { seq, outcome } => {
                    pending.retain(|s| *s != seq);
                    let (name, good, shown) = describe(seq, &outcome, add, home);
                    println!("{} {name} -> {shown}", if good { "ok  " } else { "FAIL" });
                    ok &= good;
                }
                Event::Push(push) => println!(
                    "push    {} {}",
                    push.message.service_method,
                    String::from_utf8_lossy(push.message.body)
                ),
                Event::Closed(reason) => println!("closed: {reason}"),
                _ => {}
            }
        }
        if pending.is_empty() {
            break;
        }
        // Block in `read` until bytes arrive or the next deadline passes.
        let wait = conn.poll_timeout().map_or(Duration::from_secs(1), |d| {
            Duration::from_millis(d.as_millis().saturating_sub(now(epoch).as_millis()).max(1))
        });
        sock.set_read_timeout(Some(wait))?;
        match sock.read(conn.recv_buffer()) {
            Ok(0) => conn.handle_eof(now(epoch)),
            Ok(n) => conn.recv_commit(n, now(epoch)),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                conn.handle_timeout(now(epoch));
            }
            Err(_) => conn.handle_transport_error(now(epoch)),
        }
    }
    conn.close(None, now(epoch));
    Ok(ok && pending.is_empty())
}

/// What a call's outcome means, for the three calls above.
fn describe(seq: Seq, outcome: &Outcome<'_>, add: Seq, home: Seq) -> (&'static str, bool, String) {
    match outcome {
        Outcome::Replied(m) if seq == add => {
            let body = String::from_utf8_lossy(m.body).into_owned();
            (
                "call /math/add [1,2,3,4,5]",
                m.status.is_ok() && body == "15",
                body,
            )
        }
        Outcome::Replied(m) if seq == home => {
            let body = String::from_utf8_lossy(m.body).into_owned();
            let good = m.status.is_ok() && body.contains(r#""author":"henrylee2cn""#);
            ("call /home/test (gzip)", good, body)
        }
        Outcome::Replied(m) => {
            let status = m.status.to_owned().unwrap_or_default();
            let good = status.code == 1234 && status.msg == "bad thing";
            ("call /err/fail", good, status.to_string())
        }
        other => ("call", false, format!("status {}", other.code())),
    }
}
