//! One command, no setup: the example server and client in one process over
//! loopback TCP, printing each call, its result and the pushes.
//!
//! `cargo run -p teleport-host-examples --bin demo`

use std::process::ExitCode;
use std::time::Duration;

use teleport_host_examples::{
    ClientOptions, ServerOptions, broadcast_status, client_router, init_logging, run_client,
    server_router,
};
use teleport_tokio::{Peer, PeerConfig};

#[tokio::main]
async fn main() -> ExitCode {
    init_logging("teleport=info");
    let server = Peer::new(
        PeerConfig {
            listen_address: "127.0.0.1:0".into(),
            count_time: true,
            ..PeerConfig::default()
        },
        server_router(ServerOptions::default()),
    );
    let bound = match server.listen().await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("server listening on {}", bound.addr);
    tokio::spawn(broadcast_status(server.clone(), Duration::from_secs(1)));

    let (tx, rx) = async_channel::unbounded();
    let client = Peer::new(PeerConfig::default(), client_router(tx));
    let session = match client.dial(&bound.addr.to_string()).await {
        Ok(s) => s,
        Err(status) => {
            eprintln!("dial: {status}");
            return ExitCode::FAILURE;
        }
    };
    let opts = ClientOptions {
        no_query: false,
        wait: Duration::from_millis(1500),
    };
    let ok = run_client(&session, &rx, &opts).await;
    session.close();
    server.shutdown(Duration::from_secs(1)).await;
    println!("{}", if ok { "demo ok" } else { "demo FAILED" });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
