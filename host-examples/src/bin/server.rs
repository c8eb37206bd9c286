//! The Teleport README's example server, extended to show every message kind.
//!
//! `cargo run -p teleport-host-examples --bin server -- --addr 127.0.0.1:9090 [--runtime smol]`

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use teleport_async::{Network, Peer, PeerConfig, Runtime};
use teleport_host_examples::{
    RuntimeChoice, ServerOptions, broadcast_status, init_logging, server_router,
};

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
    /// The async runtime to serve on.
    #[arg(long, value_enum, default_value = "tokio")]
    runtime: RuntimeChoice,
}

async fn serve<R: Runtime + Default>(
    args: Args,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
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
    let peer = Peer::<R>::new(
        config,
        server_router(ServerOptions {
            echo_unknown: !args.no_echo,
        }),
    );
    let bound = peer.listen().await?;
    println!("listening on {} ({:?})", bound.addr, args.runtime);
    if args.broadcast > 0 {
        peer.runtime().spawn(broadcast_status(
            peer.clone(),
            Duration::from_secs(args.broadcast),
        ));
    }
    signal.await;
    peer.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

fn main() -> ExitCode {
    init_logging("info");
    let args = Args::parse();
    let served = match args.runtime {
        RuntimeChoice::Tokio => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .and_then(|rt| {
                rt.block_on(serve::<teleport_tokio::Tokio>(
                    args,
                    teleport_tokio::shutdown_signal(),
                ))
            }),
        RuntimeChoice::Smol => smol::block_on(serve::<teleport_smol::Smol>(
            args,
            teleport_smol::shutdown_signal(),
        )),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            ExitCode::FAILURE
        }
    }
}
