//! Replay the Go client's request frames from `../shared/spec/vectors.json`
//! over a real socket against the example server, and compare each answer
//! with the Go server's answer in the same file, field by field.
//!
//! The Go server of those captures had no unknown-call handler, so the
//! example server runs with `echo_unknown: false` here.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;
use teleport_async::{Addr, Peer, PeerConfig, Runtime};
use teleport_core::xfer::XferFilters;
use teleport_core::{FrameReader, Message, Mtype};
use teleport_host_examples::{ServerOptions, server_router};

#[derive(Deserialize, Debug)]
struct Fields {
    seq: i32,
    mtype: u8,
    service_method: String,
    status_code: i32,
    status_msg: String,
    status_cause: Option<String>,
    meta: Vec<(String, String)>,
    body_codec: u8,
    body_hex: String,
    xfer: Vec<u8>,
}

#[derive(Deserialize, Debug)]
struct Vector {
    name: String,
    hex: String,
    fields: Fields,
}

fn vectors() -> Vec<Vector> {
    let dir = std::env::var_os("TELEPORT_SPEC_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec"),
        PathBuf::from,
    );
    let path = dir.join("vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set TELEPORT_SPEC_DIR)", path.display()));
    serde_json::from_str(&text).expect("vectors.json")
}

fn find<'a>(all: &'a [Vector], name: &str) -> &'a Vector {
    all.iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("vector {name} missing"))
}

/// Which runtime the example server runs on.
#[derive(Clone, Copy, Debug)]
enum On {
    Tokio,
    Smol,
}

async fn serve<R: Runtime + Default>(
    opts: ServerOptions,
    tx: std::sync::mpsc::Sender<std::net::SocketAddr>,
) {
    let peer = Peer::<R>::new(
        PeerConfig {
            listen_address: "127.0.0.1:0".into(),
            ..PeerConfig::default()
        },
        server_router(opts),
    );
    let bound = peer.listen().await.expect("listen");
    let Addr::Tcp(addr) = bound.addr else {
        unreachable!("tcp listener")
    };
    tx.send(addr).expect("report address");
    // Serve for as long as the test process lives.
    teleport_async::sleep(peer.runtime(), Duration::from_secs(120)).await;
}

/// Start the example server on an ephemeral port in a background thread.
fn start_server(on: On, opts: ServerOptions) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || match on {
        On::Tokio => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(serve::<teleport_tokio::Tokio>(opts, tx)),
        On::Smol => smol::block_on(serve::<teleport_smol::Smol>(opts, tx)),
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("server up")
}

/// Send raw request bytes; read `n` frames back (with a deadline).
fn exchange(addr: std::net::SocketAddr, request: &[u8], n: usize) -> Vec<Message> {
    let mut sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(request).unwrap();
    let filters = XferFilters::with_defaults();
    let mut reader = FrameReader::new(teleport_core::frame::DEFAULT_FRAME_LIMIT);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        while let Some(frame) = reader.next_frame().expect("well-formed answer") {
            out.push(Message::decode(frame, &filters, u32::MAX).expect("decodable answer"));
        }
        if out.len() >= n {
            break;
        }
        let got = sock.read(&mut buf).expect("answer before the deadline");
        assert!(got > 0, "server closed after {} of {n} frames", out.len());
        reader.extend(&buf[..got]);
    }
    out
}

/// Compare an answer with the Go server's, field by field. JSON bodies are
/// compared as values; gzip payloads were inflated by `Message::decode`.
fn assert_same(name: &str, ours: &Message, go: &Fields) {
    assert_eq!(ours.seq.0, go.seq, "{name}: seq");
    assert_eq!(u8::from(ours.mtype), go.mtype, "{name}: mtype");
    assert_eq!(
        ours.service_method.as_str(),
        go.service_method,
        "{name}: service method"
    );
    let status = ours.status.clone().unwrap_or_default();
    assert_eq!(status.code, go.status_code, "{name}: status code");
    assert_eq!(status.msg, go.status_msg, "{name}: status msg");
    assert_eq!(status.cause, go.status_cause, "{name}: status cause");
    let meta: Vec<(String, String)> = ours
        .meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(meta, go.meta, "{name}: meta");
    assert_eq!(ours.body_codec, go.body_codec, "{name}: body codec");
    assert_eq!(ours.xfer, go.xfer, "{name}: transfer pipe");
    let go_body = hex::decode(&go.body_hex).unwrap();
    if go.body_codec == b'j' && !go_body.is_empty() {
        let a: serde_json::Value = serde_json::from_slice(&ours.body).expect("our JSON");
        let b: serde_json::Value = serde_json::from_slice(&go_body).expect("Go JSON");
        assert_eq!(a, b, "{name}: JSON body");
    } else {
        assert_eq!(&ours.body[..], &go_body[..], "{name}: body");
    }
}

#[test]
fn go_requests_get_the_go_servers_answers() {
    go_replay(On::Tokio);
}

#[test]
fn go_requests_get_the_go_servers_answers_from_the_smol_server() {
    go_replay(On::Smol);
}

fn go_replay(on: On) {
    let all = vectors();
    let addr = start_server(
        on,
        ServerOptions {
            echo_unknown: false,
        },
    );
    let pairs = [
        ("call_math_add_json", "reply_math_add_json"),
        ("live_call_err_fail", "live_reply_err_fail"),
        ("live_call_unknown_route_plain", "live_reply_not_found_404"),
        ("call_heartbeat_ping", "reply_heartbeat_pong"),
        ("live_heartbeat_call_ping", "live_heartbeat_pong_reply"),
    ];
    for (request, answer) in pairs {
        let req = hex::decode(&find(&all, request).hex).unwrap();
        let got = exchange(addr, &req, 1);
        assert_same(answer, &got[0], &find(&all, answer).fields);
    }

    // /home/test over gzip: the handler pushes first (as the live capture
    // shows), then replies through the same transfer pipe.
    let req = find(&all, "live_call_home_test_gzip");
    let got = exchange(addr, &hex::decode(&req.hex).unwrap(), 2);
    assert_same(
        "live_push_test_from_server",
        &got[0],
        &find(&all, "live_push_test_from_server").fields,
    );
    let reply = &got[1];
    assert_eq!(reply.mtype, Mtype::Reply);
    assert_eq!(reply.seq.0, req.fields.seq);
    assert_eq!(reply.xfer, b"g", "the reply uses the request's pipe");
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["arg"], serde_json::json!({"author": "andeya"}));
    assert_eq!(v["meta"]["peer_id"], "110");
    assert_eq!(v["meta"]["k"], "a b&c=d/é");
}

#[test]
fn unknown_calls_are_echoed_with_their_codec() {
    let all = vectors();
    let addr = start_server(On::Tokio, ServerOptions::default());
    let req = find(&all, "live_call_unknown_route_plain");
    let got = exchange(addr, &hex::decode(&req.hex).unwrap(), 1);
    let reply = &got[0];
    assert_eq!(reply.mtype, Mtype::Reply);
    assert!(reply.status.as_ref().is_none_or(|s| s.is_ok()));
    assert_eq!(reply.body_codec, req.fields.body_codec);
    assert_eq!(hex::encode(&reply.body), req.fields.body_hex);
}

#[test]
fn client_and_custom_io_programs_pass_against_the_server() {
    for (server, client_runtime) in [
        (On::Tokio, "tokio"),
        (On::Smol, "smol"),
        (On::Smol, "tokio"),
        (On::Tokio, "smol"),
    ] {
        let addr = start_server(server, ServerOptions::default()).to_string();
        let client = Command::new(env!("CARGO_BIN_EXE_client"))
            .args([
                "--addr",
                &addr,
                "--wait",
                "0.5",
                "--runtime",
                client_runtime,
            ])
            .output()
            .expect("run client");
        let stdout = String::from_utf8_lossy(&client.stdout);
        assert!(
            client.status.success(),
            "{server:?} server, {client_runtime} client failed:\n{stdout}"
        );
        assert!(!stdout.contains("FAIL"), "{stdout}");
        assert!(stdout.contains("push    /push/test"), "{stdout}");
    }
    let addr = start_server(On::Tokio, ServerOptions::default()).to_string();

    let custom = Command::new(env!("CARGO_BIN_EXE_custom_io"))
        .args(["--addr", &addr])
        .output()
        .expect("run custom_io");
    let stdout = String::from_utf8_lossy(&custom.stdout);
    assert!(custom.status.success(), "custom_io failed:\n{stdout}");
    assert_eq!(stdout.matches("ok   call").count(), 3, "{stdout}");
}
