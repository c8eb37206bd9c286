//! # teleport-embassy
//!
//! Teleport (eRPC) on a microcontroller: [`teleport_core`]'s connection state
//! machine driven over an [`embassy_net::tcp::TcpSocket`], with timers from
//! `embassy-time`. `no_std`, no allocator: every buffer is a fixed array in a
//! [`Slot`] you place in a `static`.
//!
//! - Server: [`serve`] listens on a port with `N` slots, each serving one
//!   session at a time.
//! - Client: [`connect`] dials a host and runs the session.
//! - Both ends call and push on the same session, as on the host.
//! - Handlers are async functions in a static route table ([`routes!`]);
//!   their [`Ctx`] gives the seq, service method, query, metadata and body,
//!   builds the reply, and pushes to the caller.
//! - Session hooks ([`App`]): on open (e.g. call the host), a periodic tick
//!   (telemetry pushes), call outcomes, close.
//! - Bodies: postcard (`'c'`) and plain (`'s'`); JSON (`'j'`) with the `json`
//!   feature, through serde-json-core.
//! - Call timeouts, heartbeats and session age come from the core's
//!   [`Config`].
//!
//! ```ignore
//! use teleport_embassy::{routes, App, Ctx, Reject};
//!
//! struct Board;
//! impl App for Board {}
//!
//! async fn led_set(_board: &Board, ctx: &mut Ctx<'_>) -> Result<(), Reject> {
//!     let on: bool = ctx.bind()?;
//!     ctx.reply(&on)
//! }
//!
//! routes! {
//!     /// The board's routes.
//!     pub static ROUTER: BoardRoute for Board {
//!         call "/led/set" => led_set,
//!     }
//! }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Log through defmt or `log`, whichever feature is on (or nowhere).
macro_rules! log_info {
    ($($t:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::info!($($t)*);
        #[cfg(feature = "log")]
        ::log::info!($($t)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = ::core::format_args!($($t)*);
        }
    }};
}

macro_rules! log_warn {
    ($($t:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($t)*);
        #[cfg(feature = "log")]
        ::log::warn!($($t)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = ::core::format_args!($($t)*);
        }
    }};
}

mod body;
mod ctx;
mod session;

use core::time::Duration;

use embassy_net::tcp::{ConnectError, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
pub use teleport_core::conn::{CloseReason, Config, Outcome, Ping, SendError};
use teleport_core::conn::{Connection, Fixed};
pub use teleport_core::router::{Reject, Role, RouteKind, StaticGroup, StaticRoute, StaticRouter};
pub use teleport_core::{Seq, StatusRef, codec, uri};

pub use body::{BAD_BODY, BODY_TOO_LARGE, UNSUPPORTED_CODEC, decode, encode, supported};
pub use ctx::{Ctx, MetaPairs, Outbox};
pub use session::{Buffers, now, run};

/// A route's handler: dispatches to the async function registered for it.
/// [`routes!`] implements it; write it by hand for other shapes.
pub trait Dispatch<A: ?Sized> {
    /// Run the handler for one message.
    #[allow(async_fn_in_trait)] // embassy executors are single-threaded: no Send bound wanted.
    async fn dispatch(&self, app: &A, ctx: &mut Ctx<'_>) -> Result<(), Reject>;
}

/// Session hooks of an application; every method has a default that does
/// nothing.
pub trait App {
    /// A session opened: e.g. call the host.
    fn on_open(&self, _out: &mut Outbox<'_>) {}
    /// How often [`on_tick`](Self::on_tick) runs while a session is open.
    fn tick(&self) -> Option<Duration> {
        None
    }
    /// Periodic work on an open session, e.g. a telemetry push.
    fn on_tick(&self, _out: &mut Outbox<'_>) {}
    /// One of our calls ended: the reply, a timeout or a closed connection.
    fn on_outcome(&self, _seq: Seq, _outcome: &Outcome<'_>) {}
    /// The session closed.
    fn on_close(&self, _reason: CloseReason) {}
}

/// Register async functions as routes: generates a `Copy` enum with one
/// variant per function, its [`Dispatch`] impl, and a `static`
/// [`StaticRouter`] over them. Each function is
/// `async fn(&App, &mut Ctx<'_>) -> Result<(), Reject>`.
///
/// ```ignore
/// routes! {
///     pub static ROUTER: BoardRoute for Board {
///         call "/led/set" => led_set,
///         call "/sensor/temp" => sensor_temp,
///         push "/host/note" => host_note,
///     }
/// }
/// ```
#[macro_export]
macro_rules! routes {
    (
        $(#[$meta:meta])*
        $vis:vis static $router:ident : $route:ident for $app:ty {
            $( $kind:ident $path:literal => $handler:ident ),* $(,)?
        }
    ) => {
        /// One variant per route of the generated router.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $route {
            $(
                #[doc = $path]
                $handler,
            )*
        }

        impl $crate::Dispatch<$app> for $route {
            async fn dispatch(
                &self,
                app: &$app,
                ctx: &mut $crate::Ctx<'_>,
            ) -> ::core::result::Result<(), $crate::Reject> {
                match self {
                    $( Self::$handler => $handler(app, ctx).await, )*
                }
            }
        }

        $(#[$meta])*
        $vis static $router: $crate::StaticRouter<'static, $route> = $crate::StaticRouter {
            routes: &[ $( $crate::routes!(@route $kind $path, $route::$handler) ),* ],
            plugins: &[],
            unknown_call: None,
            unknown_push: None,
            ignore_case: false,
        };
    };
    (@route call $path:literal, $h:expr) => { $crate::StaticRoute::call($path, $h) };
    (@route push $path:literal, $h:expr) => { $crate::StaticRoute::push($path, $h) };
}

/// The connection type of a slot: frames up to `FRAME` bytes both ways,
/// `OUT` calls of ours and `IN` of the peer's in flight.
pub type Conn<R, const FRAME: usize, const OUT: usize, const IN: usize> =
    Connection<Fixed<FRAME, FRAME, OUT, IN>, R>;

/// Everything one session needs: the TCP socket's buffers (`SOCK` bytes
/// each way), the connection and the driver's buffers. Put it in a
/// `static` (e.g. with `static_cell`): nothing here allocates.
pub struct Slot<
    D: 'static,
    const SOCK: usize,
    const FRAME: usize,
    const OUT: usize,
    const IN: usize,
> {
    rx: [u8; SOCK],
    tx: [u8; SOCK],
    conn: Option<Conn<&'static StaticRouter<'static, D>, FRAME, OUT, IN>>,
    bufs: Buffers<FRAME>,
}

impl<D: 'static, const SOCK: usize, const FRAME: usize, const OUT: usize, const IN: usize>
    Slot<D, SOCK, FRAME, OUT, IN>
{
    /// An empty slot.
    pub const fn new() -> Self {
        Self {
            rx: [0; SOCK],
            tx: [0; SOCK],
            conn: None,
            bufs: Buffers::new(),
        }
    }
}

impl<D: 'static, const SOCK: usize, const FRAME: usize, const OUT: usize, const IN: usize> Default
    for Slot<D, SOCK, FRAME, OUT, IN>
{
    fn default() -> Self {
        Self::new()
    }
}

fn tune(socket: &mut TcpSocket<'_>) {
    // Frames are written whole: Nagle would only add latency.
    socket.set_nagle_enabled(false);
    socket.set_keep_alive(Some(embassy_time::Duration::from_secs(15)));
}

/// Serve sessions on `port` with one slot, one session at a time, forever.
pub async fn serve_slot<
    A,
    D,
    const SOCK: usize,
    const FRAME: usize,
    const OUT: usize,
    const IN: usize,
>(
    stack: Stack<'_>,
    port: u16,
    slot: &mut Slot<D, SOCK, FRAME, OUT, IN>,
    config: Config,
    router: &'static StaticRouter<'static, D>,
    app: &A,
) -> !
where
    A: App + ?Sized,
    D: Dispatch<A> + Copy + 'static,
{
    loop {
        let mut socket = TcpSocket::new(stack, &mut slot.rx, &mut slot.tx);
        if let Err(e) = socket.accept(port).await {
            log_warn!("teleport: accept failed: {:?}", e);
            continue;
        }
        tune(&mut socket);
        log_info!("teleport: session from {:?}", socket.remote_endpoint());
        let conn = slot
            .conn
            .insert(Connection::new(config, Role::Server, router, now()));
        let reason = run(&mut socket, conn, &mut slot.bufs, app).await;
        log_info!("teleport: session ended: {}", reason);
    }
}

/// Serve on `port` with `N` slots: up to `N` sessions at once.
pub async fn serve<
    A,
    D,
    const N: usize,
    const SOCK: usize,
    const FRAME: usize,
    const OUT: usize,
    const IN: usize,
>(
    stack: Stack<'_>,
    port: u16,
    slots: &mut [Slot<D, SOCK, FRAME, OUT, IN>; N],
    config: Config,
    router: &'static StaticRouter<'static, D>,
    app: &A,
) -> !
where
    A: App + ?Sized,
    D: Dispatch<A> + Copy + 'static,
{
    let sessions = slots
        .each_mut()
        .map(|slot| serve_slot(stack, port, slot, config, router, app));
    embassy_futures::join::join_array(sessions).await;
    unreachable_forever().await
}

async fn unreachable_forever() -> ! {
    loop {
        core::future::pending::<()>().await;
    }
}

/// Dial `remote` and run one client session on `slot` until it closes.
pub async fn connect<
    A,
    D,
    const SOCK: usize,
    const FRAME: usize,
    const OUT: usize,
    const IN: usize,
>(
    stack: Stack<'_>,
    remote: IpEndpoint,
    slot: &mut Slot<D, SOCK, FRAME, OUT, IN>,
    config: Config,
    router: &'static StaticRouter<'static, D>,
    app: &A,
) -> Result<CloseReason, ConnectError>
where
    A: App + ?Sized,
    D: Dispatch<A> + Copy + 'static,
{
    let mut socket = TcpSocket::new(stack, &mut slot.rx, &mut slot.tx);
    socket.set_timeout(Some(embassy_time::Duration::from_secs(10)));
    socket.connect(remote).await?;
    socket.set_timeout(None);
    tune(&mut socket);
    let conn = slot
        .conn
        .insert(Connection::new(config, Role::Client, router, now()));
    Ok(run(&mut socket, conn, &mut slot.bufs, app).await)
}
