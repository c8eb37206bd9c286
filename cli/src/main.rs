//! `teleport`: a command-line tool for Teleport (eRPC): decode and encode
//! frames, call and listen to live peers, benchmark them.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod frame_json;
mod net;

/// Tools for the Teleport (eRPC) wire protocol.
#[derive(Parser)]
#[command(name = "teleport", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read frames from stdin and print one JSON object per frame.
    Decode {
        /// Input is hex text (whitespace ignored) instead of raw bytes.
        #[arg(long)]
        hex: bool,
        /// Frame-size limit in bytes.
        #[arg(long, default_value_t = teleport_core::frame::DEFAULT_FRAME_LIMIT)]
        limit: u32,
    },
    /// Call a service method on a live peer and print the reply body (or the
    /// status, with exit code 1).
    Call(net::CallArgs),
    /// Dial a peer and print every push it sends until interrupted.
    Listen(net::ListenArgs),
    /// Run the end-to-end benchmark (BENCH.md) against ADDR, or serve it.
    Bench(net::BenchArgs),
    /// Read JSON lines (as printed by `decode`) from stdin and write frames.
    Encode {
        /// Write hex text, one frame per line, instead of raw bytes.
        #[arg(long)]
        hex: bool,
        /// Frame-size limit in bytes.
        #[arg(long, default_value_t = teleport_core::frame::DEFAULT_FRAME_LIMIT)]
        limit: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode { hex, limit } => decode(hex, limit),
        Command::Encode { hex, limit } => encode(hex, limit),
        Command::Call(args) => return net::call(&args),
        Command::Listen(args) => return net::listen(&args),
        Command::Bench(args) => return net::bench(&args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        // A closed pipe (`teleport decode | head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("teleport: {e}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether every frame was good.
fn decode(hex_input: bool, limit: u32) -> io::Result<bool> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input)?;
    if hex_input {
        let text: String = String::from_utf8_lossy(&input).split_whitespace().collect();
        input = hex::decode(text.trim())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad hex: {e}")))?;
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut ok = true;
    for line in frame_json::decode_stream(&input, limit) {
        ok &= line.is_ok();
        let json = match line {
            Ok(frame) => serde_json::to_string(&frame),
            Err(error) => serde_json::to_string(&serde_json::json!({ "error": error })),
        }
        .map_err(io::Error::other)?;
        writeln!(out, "{json}")?;
    }
    Ok(ok)
}

fn encode(hex_output: bool, limit: u32) -> io::Result<bool> {
    let mut text = String::new();
    io::stdin().lock().read_to_string(&mut text)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut ok = true;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match frame_json::encode_line(line, limit) {
            Ok(frame) if hex_output => writeln!(out, "{}", hex::encode(&frame))?,
            Ok(frame) => out.write_all(&frame)?,
            Err(e) => {
                eprintln!("line {}: {e}", n + 1);
                ok = false;
            }
        }
    }
    Ok(ok)
}
