//! `teleport call`, `listen` and `bench` against live loopback servers.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use teleport_tokio::{Addr, Ctx, PeerConfig, Raw, Router, Runtime, Status};

fn teleport(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_teleport"))
        .args(args)
        .output()
        .expect("run teleport")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn serve<R: Runtime + Default>(tx: std::sync::mpsc::Sender<SocketAddr>) {
    let mut r = Router::new();
    r.call("/math/add", |_c: Ctx, v: Vec<i64>| async move {
        Ok(v.iter().sum::<i64>())
    })
    .unwrap();
    r.call("/echo", |ctx: Ctx, _: Raw| async move {
        let v = json!({
            "codec": ctx.body_codec(),
            "body": String::from_utf8_lossy(&ctx.body()),
            "meta": ctx.meta_value("k"),
        });
        // Always JSON, whatever the request's codec.
        Ok(Raw::new(b'j', serde_json::to_vec(&v).unwrap()))
    })
    .unwrap();
    r.call("/err/fail", |_c: Ctx, _: Raw| async move {
        Err::<(), _>(Status::new(1234, "bad thing").with_cause("cause text"))
    })
    .unwrap();
    let peer = teleport_async::Peer::<R>::new(
        PeerConfig {
            listen_address: "127.0.0.1:0".into(),
            ..PeerConfig::default()
        },
        r,
    );
    let bound = peer.listen().await.unwrap();
    let Addr::Tcp(addr) = bound.addr else {
        unreachable!()
    };
    tx.send(addr).unwrap();
    for _ in 0..1200 {
        teleport_tokio::sleep(peer.runtime(), Duration::from_millis(100)).await;
        peer.broadcast("/tick", &json!({"t": 1})).await;
        peer.broadcast("/other", &1).await;
    }
}

/// A server in a background thread, on tokio or (with `smol`) on smol;
/// pushes `/tick` to every session often.
fn start_server_on(smol: bool) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if smol {
            smol::block_on(serve::<teleport_smol::Smol>(tx));
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(serve::<teleport_tokio::Tokio>(tx));
        }
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("server up")
}

fn start_server() -> SocketAddr {
    start_server_on(false)
}

#[test]
fn call_prints_bodies_and_statuses() {
    call_against(start_server_on(false));
}

#[test]
fn call_works_against_a_smol_server() {
    call_against(start_server_on(true));
}

fn call_against(addr: SocketAddr) {
    let addr = addr.to_string();
    let out = teleport(&["call", &addr, "/math/add", "[1,2,3]"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), "6");

    let out = teleport(&[
        "call", &addr, "/echo", "hi", "--codec", "plain", "--meta", "k=v w", "--gzip",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v, json!({"codec": b's', "body": "hi", "meta": "v w"}));

    let out = teleport(&["call", &addr, "/err/fail"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).contains("code=1234"), "{}", stdout(&out));
    assert!(stdout(&out).contains("cause text"), "{}", stdout(&out));

    let out = teleport(&["call", &addr, "/nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("code=404"), "{}", stdout(&out));

    let out = teleport(&["call", &addr, "/math/add", "{not json"]);
    assert_eq!(out.status.code(), Some(2), "bad input is a usage error");

    // Nobody listens on port 1: dial failure status, promptly.
    let out = teleport(&["call", "127.0.0.1:1", "/math/add", "[1]", "--timeout", "2s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("code=105"), "{}", stdout(&out));
}

#[test]
fn listen_prints_pushes_filtered_by_uri() {
    let addr = start_server().to_string();
    let out = teleport(&["listen", &addr, "--push", "/tick", "--duration", "700ms"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("/tick {\"t\":1}"), "{text}");
    assert!(!text.contains("/other"), "{text}");
}

#[test]
fn bench_runs_against_its_own_server() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_teleport"))
        .args(["bench", "--serve", &addr])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(25));
        std::net::TcpStream::connect(&addr).is_ok()
    });
    assert!(up, "bench server did not come up");
    let out = teleport(&["bench", &addr, "-c", "4", "-n", "400"]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("4 |"))
        .unwrap_or_else(|| panic!("no row in {text}"));
    let cols: Vec<&str> = row.split('|').map(str::trim).collect();
    // sent, received, ok columns.
    assert_eq!(&cols[8..11], ["400", "400", "400"], "{row}");
}
