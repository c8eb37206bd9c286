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
const HOST_ADDR: &str = "192.168.69.100";
const BOARD: &str = "192.168.69.2";

#[test]
fn simulated_firmware_over_tap_in_a_network_namespace() {
    in_namespace(
        "simulated_firmware_over_tap_in_a_network_namespace",
        || async {
            let _board = start_board(&[]);
            let hellos = Arc::new(AtomicUsize::new(0));
            let host = host_peer(hellos.clone(), None);
            let session = dial_board(&host).await;
            exercise(&session, &hellos).await;
            session.close();
        },
    );
}

/// The board as a client: it dials the host's server, calls `/host/hello`,
/// pushes telemetry, and serves the host's calls on the same session.
#[test]
fn simulated_firmware_dials_the_host() {
    in_namespace("simulated_firmware_dials_the_host", || async {
        let hellos = Arc::new(AtomicUsize::new(0));
        let (sessions_tx, sessions) = async_channel::unbounded();
        let host = host_peer(hellos.clone(), Some(sessions_tx));
        let listening = host.listen().await.expect("host listens");
        let teleport_tokio::Addr::Tcp(bound) = listening.addr else {
            panic!("the host listens on TCP");
        };
        let port = bound.port();
        let _board = start_board(&["--connect", &format!("{}:{port}", HOST_ADDR)]);
        let session = tokio::time::timeout(Duration::from_secs(20), sessions.recv())
            .await
            .expect("the board dialed in time")
            .unwrap();
        exercise(&session, &hellos).await;
        host.shutdown(Duration::ZERO).await;
    });
}

/// Run `body` inside a fresh network namespace with the TAP device up.
fn in_namespace<F, Fut>(name: &str, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    if std::env::var_os(INSIDE).is_none() {
        run_inside_namespace(name);
        return;
    }
    setup_tap();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), body())
                .await
                .expect("the session with the board finished in time");
        });
}

fn start_board(extra: &[&str]) -> Board {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.push(TAP.into());
    args.push(format!("{BOARD}/24"));
    Board(
        Command::new(env!("CARGO_BIN_EXE_firmware-sim"))
            .args(&args)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start firmware-sim"),
    )
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

/// The host: answers `/host/hello`, collects telemetry, and hands over
/// sessions the board opens (client mode).
fn host_peer(
    hellos: Arc<AtomicUsize>,
    sessions: Option<async_channel::Sender<teleport_tokio::Session>>,
) -> Peer {
    let mut router = Router::new();
    router
        .call("/host/hello", move |ctx: Ctx, hello: Value| {
            let hellos = hellos.clone();
            let sessions = sessions.clone();
            async move {
                assert_eq!(hello["board"], "simulated");
                assert!(hello["version"].is_string());
                hellos.fetch_add(1, Ordering::SeqCst);
                if let Some(tx) = sessions {
                    let _ = tx.send(ctx.session().clone()).await;
                }
                Ok("welcome")
            }
        })
        .unwrap();
    router
        .push("/telemetry/tick", move |ctx: Ctx, tick: Value| async move {
            TICKS
                .lock()
                .unwrap()
                .push((ctx.session().peer_addr().to_string(), tick));
        })
        .unwrap();
    Peer::new(
        PeerConfig {
            listen_address: format!("{HOST_ADDR}:0"),
            ..PeerConfig::default()
        },
        router,
    )
}

/// Telemetry pushes received, with the session they came on.
static TICKS: std::sync::Mutex<Vec<(String, Value)>> = std::sync::Mutex::new(Vec::new());

async fn dial_board(host: &Peer) -> teleport_tokio::Session {
    // The board's stack may take a moment to come up: retry the dial.
    let addr = format!("{BOARD}:{}", teleport_firmware_app::PORT);
    for _ in 0..100 {
        if let Ok(session) = host.dial(&addr).await {
            return session;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the host could not reach the board at {addr}");
}

async fn exercise(session: &teleport_tokio::Session, hellos: &AtomicUsize) {
    exercise_routes(session).await;
    wait_for_ticks(session).await;
    assert_eq!(
        hellos.load(Ordering::SeqCst),
        1,
        "the board calls /host/hello once"
    );
}

async fn exercise_routes(session: &teleport_tokio::Session) {
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
    assert!(
        (-40_000..=125_000).contains(&temp),
        "temperature {temp} m°C"
    );
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
}

/// Two consecutive telemetry pushes on this session, a second apart.
async fn wait_for_ticks(session: &teleport_tokio::Session) {
    let peer = session.peer_addr().to_string();
    for _ in 0..100 {
        let ticks: Vec<Value> = TICKS
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| *p == peer)
            .map(|(_, t)| t.clone())
            .collect();
        if let [.., first, second] = &ticks[..] {
            let n1 = first["n"].as_u64().unwrap();
            assert_eq!(second["n"].as_u64().unwrap(), n1 + 1, "{first} {second}");
            assert_eq!(second["led"], json!(false));
            assert!(second["uptime_ms"].as_u64() > first["uptime_ms"].as_u64());
            assert!(second["temp_mc"].as_i64().is_some(), "{second}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than two telemetry pushes from {peer}");
}
