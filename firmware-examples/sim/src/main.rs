//! The example firmware, simulated on the host: the same
//! `teleport-firmware-app` logic and `teleport-embassy` adapter as the RP2040
//! build, on the embassy executor for std with embassy-net on a TAP device.
//!
//! ```text
//! firmware-sim [--connect HOST:PORT] [TAP [IP/PREFIX]]
//! ```
//!
//! Defaults: `tap0`, `192.168.69.2/24`. Without `--connect` it serves on port
//! 9090 (the board's role in the README); with it, it dials the host and runs
//! the same routes and telemetry as a client, redialing after a close.
//!
//! The TAP device must exist and be up (see the README); the test in
//! `tests/netns.rs` creates one inside a private network namespace.

use std::cell::Cell;
use std::str::FromStr;

use embassy_executor::{Executor, Spawner};
use embassy_net::{Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use static_cell::StaticCell;
use std::net::SocketAddrV4;

use embassy_time::Timer;
use teleport_embassy::{Slot, connect, serve};
use teleport_firmware_app::{Board, CONFIG, Hardware, PORT, ROUTER, Route};

/// Frames up to 1 KiB, 4 calls each way: the footprint the README reports.
type BoardSlot = Slot<Route, 2048, 1024, 4, 4>;

/// Sessions served at once.
const SLOTS: usize = 2;

struct SimHardware {
    led: Cell<bool>,
}

impl Hardware for SimHardware {
    fn set_led(&self, on: bool) {
        self.led.set(on);
        log::info!("LED {}", if on { "on" } else { "off" });
    }
    fn temperature_mc(&self) -> i32 {
        // A plausible, slowly varying reading.
        let secs = embassy_time::Instant::now().as_secs() % 10;
        27_000 + 100 * secs as i32
    }
    fn name(&self) -> &'static str {
        "simulated"
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn app_task(
    stack: Stack<'static>,
    slots: &'static mut [BoardSlot; SLOTS],
    host: Option<SocketAddrV4>,
) -> ! {
    let hw = SimHardware {
        led: Cell::new(false),
    };
    let board = Board::new(&hw);
    stack.wait_config_up().await;
    let Some(host) = host else {
        log::info!("serving on port {PORT}");
        serve(stack, PORT, slots, CONFIG, &ROUTER, &board).await
    };
    loop {
        log::info!("dialing {host}");
        match connect(stack, host.into(), &mut slots[0], CONFIG, &ROUTER, &board).await {
            Ok(reason) => log::info!("session with {host} ended: {reason}"),
            Err(e) => log::warn!("dial {host} failed: {e:?}"),
        }
        Timer::after_secs(1).await;
    }
}

fn main() {
    init_log();
    let mut args = std::env::args().skip(1).peekable();
    let mut host = None;
    if args.peek().map(String::as_str) == Some("--connect") {
        args.next();
        let text = args.next().unwrap_or_default();
        host = Some(SocketAddrV4::from_str(&text).unwrap_or_else(|_| {
            eprintln!("error: --connect wants an IPv4 HOST:PORT, got {text:?}");
            std::process::exit(2);
        }));
    }
    let tap = args.next().unwrap_or_else(|| "tap0".into());
    let cidr = args.next().unwrap_or_else(|| "192.168.69.2/24".into());
    let address = Ipv4Cidr::from_str(&cidr).unwrap_or_else(|_| {
        eprintln!("error: bad address {cidr} (want a.b.c.d/prefix)");
        std::process::exit(2);
    });
    let device = TunTapDevice::new(&tap).unwrap_or_else(|e| {
        eprintln!("error: cannot open TAP device {tap}: {e}");
        std::process::exit(1);
    });
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address,
        gateway: None,
        dns_servers: Default::default(),
    });

    static RESOURCES: StaticCell<StackResources<4>> = StaticCell::new();
    static SLOTS_CELL: StaticCell<[BoardSlot; SLOTS]> = StaticCell::new();
    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        config,
        RESOURCES.init(StackResources::new()),
        std::process::id().into(),
    );
    let slots = SLOTS_CELL.init([BoardSlot::new(), BoardSlot::new()]);
    let executor = EXECUTOR.init(Executor::new());
    executor.run(|spawner: Spawner| {
        spawner.spawn(net_task(runner).expect("net task"));
        spawner.spawn(app_task(stack, slots, host).expect("app task"));
    });
}

fn init_log() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::Level::Info
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                eprintln!("firmware-sim {} {}", r.level(), r.args());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}
