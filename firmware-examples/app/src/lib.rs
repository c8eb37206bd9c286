//! The example firmware's logic, independent of the board: the same code
//! runs on the RP2040 (`firmware-examples/rp2040`) and on the host
//! simulation (`firmware-examples/sim`).
//!
//! - CALL `/led/set` `true|false`: switch the LED; replies with the new state.
//! - CALL `/sensor/temp`: the chip's temperature in thousandths of a °C.
//! - CALL `/sys/info`: uptime and firmware version.
//! - PUSH `/telemetry/tick` to the connected host every second.
//! - CALL the host's `/host/hello` once when a session opens.
//!
//! Bodies are JSON, Teleport's default codec, so `teleport call` and any
//! Go or Rust host talk to the board as they are.
#![no_std]
#![forbid(unsafe_code)]

use core::cell::Cell;
use core::time::Duration;

use serde::{Deserialize, Serialize};
use teleport_embassy::{App, Ctx, Outbox, Outcome, Reject, Seq, routes};

/// Firmware version reported by `/sys/info` and `/host/hello`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// TCP port the board serves on.
pub const PORT: u16 = 9090;

/// Session settings: the core's defaults, plus a write timeout so a host
/// that stops reading cannot hold a session slot forever.
pub const CONFIG: teleport_embassy::Config = teleport_embassy::Config {
    write_timeout: Some(Duration::from_secs(10)),
    ..teleport_embassy::Config::new()
};

/// What the board's hardware offers the routes.
pub trait Hardware {
    /// Switch the on-board LED.
    fn set_led(&self, on: bool);
    /// The chip's temperature in thousandths of a °C. (Integers: float
    /// formatting would cost the firmware some 20 KiB of flash.)
    fn temperature_mc(&self) -> i32;
    /// The board's name, for `/sys/info` and the hello.
    fn name(&self) -> &'static str;
}

/// `/sys/info` reply.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct SysInfo<'a> {
    /// Milliseconds since boot.
    pub uptime_ms: u64,
    /// Firmware version.
    pub version: &'a str,
    /// Board name.
    pub board: &'a str,
}

/// `/telemetry/tick` body.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Tick {
    /// Counts from 1 per session.
    pub n: u32,
    /// Milliseconds since boot.
    pub uptime_ms: u64,
    /// Temperature in thousandths of a °C.
    pub temp_mc: i32,
    /// LED state.
    pub led: bool,
}

/// `/host/hello` argument.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Hello<'a> {
    /// Board name.
    pub board: &'a str,
    /// Firmware version.
    pub version: &'a str,
}

/// The application: hardware plus per-session state.
pub struct Board<'h> {
    hw: &'h dyn Hardware,
    led: Cell<bool>,
    ticks: Cell<u32>,
    hello: Cell<Option<Seq>>,
    hello_answered: Cell<bool>,
}

impl<'h> Board<'h> {
    /// The firmware on `hw`.
    pub fn new(hw: &'h dyn Hardware) -> Self {
        Self {
            hw,
            led: Cell::new(false),
            ticks: Cell::new(0),
            hello: Cell::new(None),
            hello_answered: Cell::new(false),
        }
    }

    /// Whether the host answered our hello OK.
    pub fn hello_answered(&self) -> bool {
        self.hello_answered.get()
    }
}

fn uptime_ms() -> u64 {
    embassy_time::Instant::now().as_millis()
}

async fn led_set(board: &Board<'_>, ctx: &mut Ctx<'_>) -> Result<(), Reject> {
    let on: bool = ctx.bind()?;
    board.hw.set_led(on);
    board.led.set(on);
    ctx.reply(&on)
}

async fn sensor_temp(board: &Board<'_>, ctx: &mut Ctx<'_>) -> Result<(), Reject> {
    ctx.reply(&board.hw.temperature_mc())
}

async fn sys_info(board: &Board<'_>, ctx: &mut Ctx<'_>) -> Result<(), Reject> {
    ctx.reply(&SysInfo {
        uptime_ms: uptime_ms(),
        version: VERSION,
        board: board.hw.name(),
    })
}

routes! {
    /// The board's routes.
    pub static ROUTER: Route for Board<'_> {
        call "/led/set" => led_set,
        call "/sensor/temp" => sensor_temp,
        call "/sys/info" => sys_info,
    }
}

impl App for Board<'_> {
    fn on_open(&self, out: &mut Outbox<'_>) {
        self.ticks.set(0);
        self.hello_answered.set(false);
        let hello = Hello {
            board: self.hw.name(),
            version: VERSION,
        };
        self.hello.set(out.call("/host/hello", &hello).ok());
    }

    fn tick(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn on_tick(&self, out: &mut Outbox<'_>) {
        let n = self.ticks.get() + 1;
        self.ticks.set(n);
        let tick = Tick {
            n,
            uptime_ms: uptime_ms(),
            temp_mc: self.hw.temperature_mc(),
            led: self.led.get(),
        };
        // A full send queue skips a beat rather than wait.
        let _ = out.push("/telemetry/tick", &tick);
    }

    fn on_outcome(&self, seq: Seq, outcome: &Outcome<'_>) {
        if self.hello.get() == Some(seq) {
            self.hello_answered.set(outcome.is_ok());
        }
    }
}
