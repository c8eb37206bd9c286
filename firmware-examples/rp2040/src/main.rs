//! The example firmware on a WIZnet W5500-EVB-Pico: an RP2040 with a W5500
//! Ethernet chip on SPI0. It gets an address by DHCP and serves Teleport on
//! port 9090 (routes and telemetry in `teleport-firmware-app`).
//!
//! W5500 wiring (fixed on the EVB-Pico): SCK GP18, MOSI GP19, MISO GP16,
//! CS GP17, INT GP21, RESET GP20. LED: GP25.
#![no_std]
#![no_main]

use core::cell::RefCell;

use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_net_wiznet::chip::W5500;
use embassy_net_wiznet::{Device, Runner, State};
use embassy_rp::adc::{self, Adc, Blocking};
use embassy_rp::clocks::RoscRng;
use embassy_rp::gpio::{Input, Level, Output, Pull};
use embassy_rp::peripherals::{DMA_CH0, DMA_CH1, SPI0};
use embassy_rp::spi::{Async, Config as SpiConfig, Spi};
use embassy_rp::{bind_interrupts, dma};
use embassy_time::Delay;
use embedded_hal_bus::spi::ExclusiveDevice;
use static_cell::StaticCell;
use teleport_embassy::{Slot, serve};
use teleport_firmware_app::{Board, CONFIG, Hardware, PORT, ROUTER, Route};

bind_interrupts!(struct Irqs {
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>, dma::InterruptHandler<DMA_CH1>;
});

type EthSpi = ExclusiveDevice<Spi<'static, SPI0, Async>, Output<'static>, Delay>;

/// Frames up to 1 KiB, 4 calls in flight each way, 2 KiB TCP buffers each
/// way: the configuration the README's footprint figures are for.
type BoardSlot = Slot<Route, 2048, 1024, 4, 4>;

/// Sessions served at once.
const SLOTS: usize = 1;

struct Rp2040 {
    led: RefCell<Output<'static>>,
    adc: RefCell<Adc<'static, Blocking>>,
    sensor: RefCell<adc::Channel<'static>>,
}

impl Hardware for Rp2040 {
    fn set_led(&self, on: bool) {
        self.led
            .borrow_mut()
            .set_level(if on { Level::High } else { Level::Low });
    }

    fn temperature_mc(&self) -> i32 {
        let raw = self
            .adc
            .borrow_mut()
            .blocking_read(&mut self.sensor.borrow_mut())
            .unwrap_or(0);
        // RP2040 datasheet 4.9.5: 27 °C at 0.706 V, -1.721 mV/°C, with a
        // 3.3 V reference over 12 bits; in integer microvolts.
        let microvolts = i64::from(raw) * 3_300_000 / 4096;
        (27_000 - (microvolts - 706_000) * 1000 / 1721) as i32
    }

    fn name(&self) -> &'static str {
        "w5500-evb-pico"
    }
}

#[embassy_executor::task]
async fn ethernet_task(
    runner: Runner<'static, W5500, EthSpi, Input<'static>, Output<'static>>,
) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device<'static>>) -> ! {
    runner.run().await
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    let mut rng = RoscRng;

    let mut spi_config = SpiConfig::default();
    spi_config.frequency = 50_000_000;
    let spi = Spi::new(
        p.SPI0, p.PIN_18, p.PIN_19, p.PIN_16, p.DMA_CH0, p.DMA_CH1, Irqs, spi_config,
    );
    let cs = Output::new(p.PIN_17, Level::High);
    let int = Input::new(p.PIN_21, Pull::Up);
    let reset = Output::new(p.PIN_20, Level::High);
    let Ok(spi) = ExclusiveDevice::new(spi, cs, Delay);

    // A locally administered MAC; give each board its own.
    let mac = [0x02, 0x54, 0x50, 0x00, 0x00, 0x01];
    static STATE: StaticCell<State<4, 4>> = StaticCell::new();
    let Ok((device, runner)) = embassy_net_wiznet::new::<4, 4, W5500, _, _, _>(
        mac,
        STATE.init(State::new()),
        spi,
        int,
        reset,
    )
    .await
    else {
        panic!("W5500 did not initialise");
    };
    spawner.spawn(ethernet_task(runner).expect("ethernet task"));

    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        rng.next_u64(),
    );
    spawner.spawn(net_task(runner).expect("net task"));
    stack.wait_config_up().await;

    let hw = Rp2040 {
        led: RefCell::new(Output::new(p.PIN_25, Level::Low)),
        adc: RefCell::new(Adc::new_blocking(p.ADC, adc::Config::default())),
        sensor: RefCell::new(adc::Channel::new_temp_sensor(p.ADC_TEMP_SENSOR)),
    };
    let board = Board::new(&hw);
    static SLOT_CELL: StaticCell<[BoardSlot; SLOTS]> = StaticCell::new();
    let slots = SLOT_CELL.init([BoardSlot::new()]);
    serve(stack, PORT, slots, CONFIG, &ROUTER, &board).await
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
