//! `teleport call`, `listen` and `bench`: talk to a live peer.

use std::io::{self, Read};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use teleport_benches::e2e::{self, LoadOptions, Row};
use teleport_core::codec::id;
use teleport_tokio::{Ctx, Network, Peer, PeerConfig, Raw, Router};

/// Where to connect: `ADDR`, or a unix socket path with `--unix`.
#[derive(Args, Debug)]
pub struct Target {
    /// Server address (host:port). Ignored with `--unix`.
    pub addr: String,
    /// Dial this unix socket instead of ADDR.
    #[arg(long)]
    pub unix: Option<String>,
}

impl Target {
    fn resolve(&self) -> (Network, String) {
        match &self.unix {
            Some(path) => (Network::Unix, path.clone()),
            None => (Network::Tcp, self.addr.clone()),
        }
    }
}

/// Body codecs the command line can write.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CliCodec {
    /// JSON text (validated before sending).
    Json,
    /// Bytes as given.
    Plain,
    /// Protobuf bytes, given as hex.
    ProtobufRaw,
}

/// Options of `teleport call`.
#[derive(Args, Debug)]
pub struct CallArgs {
    #[command(flatten)]
    target: Target,
    /// Service method, `?query` included.
    uri: String,
    /// Body: text, `@file`, or `-` for stdin (default: empty).
    body: Option<String>,
    /// Body codec.
    #[arg(long, value_enum, default_value = "json")]
    codec: CliCodec,
    /// Metadata pair `key=value` (repeatable).
    #[arg(long = "meta", value_parser = parse_pair)]
    meta: Vec<(String, String)>,
    /// Compress the request (and so the reply) with gzip.
    #[arg(long)]
    gzip: bool,
    /// Call timeout, e.g. `500ms`, `5s`, `1m`.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    timeout: Duration,
}

/// Options of `teleport listen`.
#[derive(Args, Debug)]
pub struct ListenArgs {
    #[command(flatten)]
    target: Target,
    /// Only print pushes to these service methods (repeatable; default: all).
    #[arg(long = "push")]
    push: Vec<String>,
    /// Stop after this long (default: until interrupted).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
}

/// Runtimes the benchmark server can run on.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ServeRuntime {
    /// teleport-tokio.
    Tokio,
    /// teleport-smol (full stack only).
    Smol,
}

/// Options of `teleport bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Server address (host:port), or the address to serve on with `--serve`.
    addr: String,
    /// Run the benchmark server instead of the load generator.
    #[arg(long)]
    serve: bool,
    /// The socket-layer row: the server echoes frames without routing;
    /// the client counts a call OK on its status alone.
    #[arg(long)]
    socket_layer: bool,
    /// ADDR is a unix socket path.
    #[arg(long)]
    unix: bool,
    /// With `--serve`: the runtime the server runs on.
    #[arg(long, value_enum, default_value = "tokio")]
    runtime: ServeRuntime,
    /// Concurrency levels.
    #[arg(long, short = 'c', value_delimiter = ',', default_value = "100,1000")]
    concurrency: Vec<usize>,
    /// Total calls per level.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    total: usize,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, got {s:?}"))
}

/// `1.5s`, `500ms`, `2m`, `100us`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("bad duration unit in {s:?} (us, ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("bad duration {s:?}: {e}"))
}

/// A tokio runtime, or the exit code after saying why there is none.
fn runtime(command: &str) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("teleport {command}: {e}");
            ExitCode::from(2)
        })
}

fn read_body(arg: Option<&str>, codec: CliCodec) -> Result<(u8, Vec<u8>), String> {
    let raw = match arg {
        None => Vec::new(),
        Some("-") => {
            let mut v = Vec::new();
            io::stdin().read_to_end(&mut v).map_err(|e| e.to_string())?;
            v
        }
        Some(s) if s.starts_with('@') => {
            std::fs::read(&s[1..]).map_err(|e| format!("{}: {e}", &s[1..]))?
        }
        Some(s) => s.as_bytes().to_vec(),
    };
    Ok(match codec {
        CliCodec::Json => {
            if !raw.is_empty() {
                serde_json::from_slice::<serde_json::Value>(&raw)
                    .map_err(|e| format!("body is not JSON: {e}"))?;
            }
            (id::JSON, raw)
        }
        CliCodec::Plain => (id::PLAIN, raw),
        CliCodec::ProtobufRaw => {
            let text: String = String::from_utf8_lossy(&raw).split_whitespace().collect();
            let bytes = hex::decode(text).map_err(|e| format!("protobuf body must be hex: {e}"))?;
            (id::PROTOBUF, bytes)
        }
    })
}

/// Print a body: JSON (pretty or on one line), text, or hex.
fn show_body(codec: u8, body: &[u8], pretty: bool) -> String {
    match codec {
        id::JSON => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                if pretty {
                    serde_json::to_string_pretty(&v).ok()
                } else {
                    serde_json::to_string(&v).ok()
                }
            })
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
        id::PLAIN | id::FORM => String::from_utf8_lossy(body).into_owned(),
        _ => hex::encode(body),
    }
}

/// `teleport call`: exit 0 with the body on OK; the status and exit 1 otherwise.
pub fn call(args: &CallArgs) -> ExitCode {
    let (codec, body) = match read_body(args.body.as_deref(), args.codec) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("teleport call: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match runtime("call") {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let (network, addr) = args.target.resolve();
    let outcome = rt.block_on(async {
        let peer = Peer::new(
            PeerConfig {
                network,
                default_dial_timeout: args.timeout,
                ..PeerConfig::default()
            },
            Router::new(),
        );
        let session = peer.dial(&addr).await?;
        let raw = Raw::new(codec, body);
        let mut call = session.call(&args.uri, &raw).timeout(args.timeout);
        for (k, v) in &args.meta {
            call = call.meta(k.clone(), v.clone());
        }
        if args.gzip {
            call = call.xfer(b"g");
        }
        let reply = call.await;
        session.close_with(None);
        reply
    });
    match outcome {
        Ok(reply) => {
            for (k, v) in reply.meta.iter() {
                eprintln!("meta {k}: {v}");
            }
            println!("{}", show_body(reply.codec, &reply.body, true));
            ExitCode::SUCCESS
        }
        Err(status) => {
            println!(
                "status code={} msg={:?} cause={:?}",
                status.code,
                status.msg,
                status.cause.as_deref().unwrap_or("")
            );
            ExitCode::FAILURE
        }
    }
}

/// `teleport listen`: print pushes until interrupted (or `--duration`).
pub fn listen(args: &ListenArgs) -> ExitCode {
    let rt = match runtime("listen") {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let (network, addr) = args.target.resolve();
    let filter = args.push.clone();
    let result = rt.block_on(async {
        let mut router = Router::new();
        router.unknown_push(move |ctx: Ctx| {
            let show = filter.is_empty() || filter.iter().any(|p| p == ctx.path());
            async move {
                if show {
                    println!(
                        "{} {}",
                        ctx.service_method(),
                        show_body(ctx.body_codec(), &ctx.body(), false)
                    );
                }
            }
        });
        let peer = Peer::new(
            PeerConfig {
                network,
                ..PeerConfig::default()
            },
            router,
        );
        let session = peer.dial(&addr).await?;
        eprintln!("listening for pushes from {}", session.peer_addr());
        let until = async {
            match args.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => teleport_tokio::shutdown_signal().await,
            }
        };
        tokio::select! {
            () = until => {}
            reason = session.closed() => eprintln!("session closed: {reason}"),
        }
        session.close_with(None);
        Ok::<_, teleport_tokio::Status>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(status) => {
            println!("status code={} msg={:?}", status.code, status.msg);
            ExitCode::FAILURE
        }
    }
}

/// `teleport bench`: the BENCH.md load generator, or its server.
pub fn bench(args: &BenchArgs) -> ExitCode {
    let rt = match runtime("bench") {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let network = if args.unix {
        Network::Unix
    } else {
        Network::Tcp
    };
    if args.serve {
        let served = match args.runtime {
            ServeRuntime::Smol if !args.socket_layer => {
                smol::block_on(e2e::serve_full::<teleport_smol::Smol>(
                    network,
                    &args.addr,
                    None,
                    teleport_smol::shutdown_signal(),
                ))
            }
            _ => rt.block_on(e2e::serve(network, &args.addr, args.socket_layer, None)),
        };
        return match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("teleport bench --serve: {e}");
                ExitCode::FAILURE
            }
        };
    }
    println!("{}", Row::header());
    for &c in &args.concurrency {
        let opts = LoadOptions {
            network,
            addr: args.addr.clone(),
            concurrency: c,
            total: args.total,
            socket_layer: args.socket_layer,
            progress: true,
        };
        match rt.block_on(e2e::run(&opts)) {
            Ok(row) => println!("{}", row.line()),
            Err(status) => {
                eprintln!("concurrency {c}: {status}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
