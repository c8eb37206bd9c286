//! The Teleport README's example client. Exits 0 only if every call behaved
//! as the example server's routes say.
//!
//! `cargo run -p teleport-host-examples --bin client -- --addr 127.0.0.1:9090 [--runtime smol]`

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use teleport_async::{Network, Peer, PeerConfig, Runtime};
use teleport_host_examples::{
    ClientOptions, RuntimeChoice, client_router, init_logging, run_client,
};

#[derive(Parser)]
struct Args {
    /// Server TCP address.
    #[arg(long, default_value = "127.0.0.1:9090")]
    addr: String,
    /// Dial this unix socket instead.
    #[arg(long)]
    unix: Option<String>,
    /// Seconds to keep printing pushes after the calls.
    #[arg(long, default_value_t = 2.0)]
    wait: f64,
    /// Call `/math/add` without a query (for Go v7 servers).
    #[arg(long)]
    no_query: bool,
    /// The async runtime to run on.
    #[arg(long, value_enum, default_value = "tokio")]
    runtime: RuntimeChoice,
}

async fn client<R: Runtime + Default>(args: Args) -> bool {
    let (network, target) = match args.unix {
        Some(path) => (Network::Unix, path),
        None => (Network::Tcp, args.addr),
    };
    let (tx, rx) = async_channel::unbounded();
    let peer = Peer::<R>::new(
        PeerConfig {
            network,
            default_context_age: Some(Duration::from_secs(10)),
            ..PeerConfig::default()
        },
        client_router(tx),
    );
    let session = match peer.dial(&target).await {
        Ok(s) => s,
        Err(status) => {
            eprintln!("dial {target}: {status}");
            return false;
        }
    };
    let opts = ClientOptions {
        no_query: args.no_query,
        wait: Duration::from_secs_f64(args.wait.max(0.0)),
    };
    let ok = run_client(&session, &rx, &opts).await;
    session.close();
    ok
}

fn main() -> ExitCode {
    init_logging("warn");
    let args = Args::parse();
    let ok = match args.runtime {
        RuntimeChoice::Tokio => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(client::<teleport_tokio::Tokio>(args)))
            .unwrap_or(false),
        RuntimeChoice::Smol => smol::block_on(client::<teleport_smol::Smol>(args)),
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
