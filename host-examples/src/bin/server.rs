//! The Teleport README's example server, extended to show every message kind.
//!
//! `cargo run -p teleport-host-examples --bin server -- --addr 127.0.0.1:9090`

use std::time::Duration;

use clap::Parser;
use teleport_host_examples::{ServerOptions, broadcast_status, init_logging, server_router};
use teleport_tokio::{Network, Peer, PeerConfig};

#[derive(Parser)]
struct Args {
    /// TCP address to listen on.
    #[arg(long, default_value = "127.0.0.1:9090")]
    addr: String,
    /// Listen on this unix socket instead.
    #[arg(long)]
    unix: Option<String>,
    /// Push `/push/status` to every session this often (seconds; 0: never).
    #[arg(long, default_value_t = 5)]
    broadcast: u64,
    /// Answer unknown calls with 404 instead of echoing them.
    #[arg(long)]
    no_echo: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    init_logging("info");
    let args = Args::parse();
    let (network, listen_address) = match args.unix {
        Some(path) => (Network::Unix, path),
        None => (Network::Tcp, args.addr),
    };
    let config = PeerConfig {
        network,
        listen_address,
        print_detail: true,
        count_time: true,
        slow_comet_duration: Some(Duration::from_millis(500)),
        ..PeerConfig::default()
    };
    let peer = Peer::new(
        config,
        server_router(ServerOptions {
            echo_unknown: !args.no_echo,
        }),
    );
    let bound = peer.listen().await?;
    println!("listening on {}", bound.addr);
    if args.broadcast > 0 {
        tokio::spawn(broadcast_status(
            peer.clone(),
            Duration::from_secs(args.broadcast),
        ));
    }
    teleport_tokio::shutdown_on_signal(&peer, Duration::from_secs(5)).await;
    Ok(())
}
