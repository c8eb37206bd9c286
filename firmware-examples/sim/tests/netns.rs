//! The simulated firmware and a teleport-tokio host, talking over a TAP
//! device inside a network namespace this test creates (`unshare -rn`): no
//! traffic leaves it. The test re-runs itself inside the namespace, creates
//! and configures the TAP device there, starts `firmware-sim` on it, and
//! checks every route, the telemetry pushes and the board's call to the host.
//!
//! It needs `unshare`, `ip` and `/dev/net/tun`, and fails with a message
//! saying which is missing.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use teleport_tokio::{Ctx, Peer, PeerConfig, Router};

const INSIDE: &str = "TELEPORT_SIM_IN_NETNS";
const TAP: &str = "tptap0";
const HOST_IP: &str = "192.168.69.100/24";
const BOARD: &str = "192.168.69.2";

#[test]
fn simulated_firmware_over_tap_in_a_network_namespace() {
    if std::env::var_os(INSIDE).is_none() {
        run_inside_namespace("simulated_firmware_over_tap_in_a_network_namespace");
        return;
    }
    setup_tap();
    let mut board = Board(
        Command::new(env!("CARGO_BIN_EXE_firmware-sim"))
            .args([TAP, &format!("{BOARD}/24")])
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start firmware-sim"),
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), talk_to_board())
                .await
                .expect("the session with the board finished in time");
        });
    board.stop();
}

/// Re-run this test binary, filtered to `name`, in a new user and network
/// namespace, and require it to pass.
fn run_inside_namespace(name: &str) {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("unshare")
        .args(["-rn", "--"])
        .arg(&exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => panic!("cannot run `unshare` (util-linux) to make a network namespace: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    assert!(
        output.status.success(),
        "the test inside the network namespace failed ({}); output above",
        output.status
    );
    assert!(
        text.contains("1 passed"),
        "the test did not run inside the namespace; output above"
    );
}

fn sh(args: &[&str]) {
    let status = Command::new(args[0]).args(&args[1..]).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`{}` failed with {s}", args.join(" ")),
        Err(e) => panic!("cannot run `{}`: {e}", args.join(" ")),
    }
}

fn setup_tap() {
    assert!(
        std::path::Path::new("/dev/net/tun").exists(),
        "/dev/net/tun is missing: TAP devices are unavailable here"
    );
    sh(&["ip", "link", "set", "lo", "up"]);
    sh(&["ip", "tuntap", "add", "dev", TAP, "mode", "tap"]);
    sh(&["ip", "link", "set", TAP, "up"]);
    sh(&["ip", "addr", "add", HOST_IP, "dev", TAP]);
    // Keep IPv6 chatter off the board's link (it only speaks IPv4).
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{TAP}/disable_ipv6"), "1");
}

struct Board(Child);

impl Board {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn talk_to_board() {
    let hellos = Arc::new(AtomicUsize::new(0));
    let (ticks_tx, ticks) = async_channel::unbounded::<Value>();
    let mut router = Router::new();
    let count = hellos.clone();
    router
        .call("/host/hello", move |_ctx: Ctx, hello: Value| {
            let count = count.clone();
            async move {
                assert_eq!(hello["board"], "simulated");
                assert!(hello["version"].is_string());
                count.fetch_add(1, Ordering::SeqCst);
                Ok("welcome")
            }
        })
        .unwrap();
    router
        .push("/telemetry/tick", move |_ctx: Ctx, tick: Value| {
            let ticks_tx = ticks_tx.clone();
            async move {
                let _ = ticks_tx.send(tick).await;
            }
        })
        .unwrap();
    let host = Peer::new(PeerConfig::default(), router);

    // The board's stack may take a moment to come up: retry the dial.
    let addr = format!("{BOARD}:{}", teleport_firmware_app::PORT);
    let mut session = None;
    for _ in 0..100 {
        match host.dial(&addr).await {
            Ok(s) => {
                session = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let session = session.expect("the host reached the board");

    let on: bool = session
        .call("/led/set", &true)
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert!(on);
    let off: bool = session
        .call("/led/set", &false)
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert!(!off);
    let temp: i32 = session
        .call("/sensor/temp", &())
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert!((-40_000..=125_000).contains(&temp), "temperature {temp} m°C");
    let info: Value = session
        .call("/sys/info", &())
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(info["board"], "simulated");
    assert_eq!(info["version"], json!(teleport_firmware_app::VERSION));
    assert!(info["uptime_ms"].as_u64().is_some(), "{info}");
    // Unknown routes get 404 from the board's core.
    let err = session.call("/nope", &()).await.unwrap_err();
    assert_eq!(err.code, 404);
    // A body the handler cannot bind gets 400.
    let err = session.call("/led/set", &"maybe").await.unwrap_err();
    assert_eq!(err.code, 400);

    // Telemetry arrives every second, counting up, with the LED state.
    let first = ticks.recv().await.unwrap();
    let second = ticks.recv().await.unwrap();
    let n1 = first["n"].as_u64().unwrap();
    assert_eq!(second["n"].as_u64().unwrap(), n1 + 1, "{first} {second}");
    assert_eq!(second["led"], json!(false));
    assert!(second["uptime_ms"].as_u64() > first["uptime_ms"].as_u64());
    assert_eq!(
        hellos.load(Ordering::SeqCst),
        1,
        "the board calls /host/hello once"
    );
    session.close();
}
