//! The end-to-end benchmark of BENCH.md in one command: starts the benchmark
//! server as a child process (with an allocation counter), then runs the
//! load generator against it and prints one table per row.
//!
//! `cargo run --release -p teleport-benches --bin e2e -- --quick`

// A counting global allocator cannot be written without unsafe; it only
// forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Parser;
use teleport_benches::e2e::{self, LoadOptions, Row};
use teleport_tokio::Network;

struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

#[derive(Parser)]
struct Args {
    /// 100,000 calls at concurrency 100 and 1000 (the headline figures).
    #[arg(long)]
    quick: bool,
    /// Total calls per row (default 1,000,000; 100,000 with --quick).
    #[arg(long)]
    total: Option<usize>,
    /// Concurrency levels (default 100,500,1000,2000,5000).
    #[arg(long, value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Internal: run the server on this address.
    #[arg(long, hide = true)]
    serve: Option<String>,
    /// Internal: the server is the socket-layer echo loop.
    #[arg(long, hide = true)]
    socket_layer: bool,
    /// Internal: the server listens on a unix socket.
    #[arg(long, hide = true)]
    unix: bool,
    /// Internal: the server runs on smol.
    #[arg(long, hide = true)]
    smol: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(addr) = &args.serve {
        let network = if args.unix {
            Network::Unix
        } else {
            Network::Tcp
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let served = rt.block_on(e2e::serve(
            network,
            addr,
            args.socket_layer,
            Some(allocations),
        ));
        return match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("serve: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let total = args
        .total
        .unwrap_or(if args.quick { 100_000 } else { 1_000_000 });
    let levels = if !args.concurrency.is_empty() {
        args.concurrency.clone()
    } else if args.quick {
        vec![100, 1000]
    } else {
        vec![100, 500, 1000, 2000, 5000]
    };
    let sock = std::env::temp_dir().join(format!("teleport-bench-{}.sock", std::process::id()));
    // (title, network, address, socket layer, server on smol)
    let rows = [
        (
            "full stack, TCP loopback",
            Network::Tcp,
            "127.0.0.1:19190".to_string(),
            false,
            false,
        ),
        (
            "full stack, unix socket",
            Network::Unix,
            sock.display().to_string(),
            false,
            false,
        ),
        (
            "socket layer, TCP loopback",
            Network::Tcp,
            "127.0.0.1:19191".to_string(),
            true,
            false,
        ),
        (
            "full stack, TCP loopback, smol server",
            Network::Tcp,
            "127.0.0.1:19192".to_string(),
            false,
            true,
        ),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    for (title, network, addr, socket_layer, smol) in rows {
        println!("\n## {title}: {total} calls per level, BenchmarkMessage 581 B, protobuf\n");
        let mut child = match spawn_server(network, &addr, socket_layer, smol) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("cannot start the server: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", Row::header());
        for &c in &levels {
            let opts = LoadOptions {
                network,
                addr: addr.clone(),
                concurrency: c,
                total,
                socket_layer,
                progress: true,
            };
            match rt.block_on(e2e::run(&opts)) {
                Ok(mut row) => {
                    if row.server_peak_rss_kib.is_none() {
                        row.server_peak_rss_kib = e2e::peak_rss_kib(&child.id().to_string());
                    }
                    println!("{}", row.line());
                }
                Err(s) => {
                    eprintln!("concurrency {c}: {s}");
                    let _ = child.kill();
                    return ExitCode::FAILURE;
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_file(&sock);
    ExitCode::SUCCESS
}

/// Start this program as the server and wait until it accepts connections.
fn spawn_server(
    network: Network,
    addr: &str,
    socket_layer: bool,
    on_smol: bool,
) -> std::io::Result<std::process::Child> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--serve", addr]).stdout(Stdio::null());
    if socket_layer {
        cmd.arg("--socket-layer");
    }
    if network == Network::Unix {
        cmd.arg("--unix");
    }
    if on_smol {
        cmd.arg("--smol");
    }
    let child = cmd.spawn()?;
    for _ in 0..200 {
        let up = match network {
            Network::Unix => std::os::unix::net::UnixStream::connect(addr).is_ok(),
            _ => std::net::TcpStream::connect(addr).is_ok(),
        };
        if up {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(std::io::Error::other(format!(
        "server on {addr} did not come up"
    )))
}
