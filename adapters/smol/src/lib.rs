//! Teleport (eRPC) for Rust over smol.
//!
//! The same API as `teleport-tokio`: everything runtime-independent lives
//! in `teleport-async` and is re-exported here; this crate adds smol's
//! sockets (`async-net`), timers (`async-io`), spawning and a signal helper.
//!
//! ```no_run
//! use teleport_smol::{Ctx, Peer, PeerConfig, Router, Status};
//!
//! async fn add(_ctx: Ctx, nums: Vec<i64>) -> Result<i64, Status> {
//!     Ok(nums.iter().sum())
//! }
//!
//! # fn main() -> std::io::Result<()> { smol::block_on(async {
//! let mut router = Router::new();
//! router.call("/math/add", add).unwrap();
//! let server = Peer::new(PeerConfig { listen_address: "127.0.0.1:0".into(), ..Default::default() }, router);
//! let bound = server.listen().await?;
//!
//! let client = Peer::new(PeerConfig::default(), Router::new());
//! let session = client.dial(&bound.addr.to_string()).await.unwrap();
//! let sum: i64 = session.call("/math/add", &[1, 2, 3]).await.unwrap().decode().unwrap();
//! assert_eq!(sum, 6);
//! # Ok(()) }) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use smol::Async;
use smol::net::unix::{UnixListener, UnixStream};
use smol::net::{TcpListener, TcpStream};
pub use teleport_async::*;

/// smol (its global executor) as a Teleport [`Runtime`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

/// A peer on smol.
pub type Peer = teleport_async::Peer<Smol>;

/// An `async-io` timer that can be moved again.
#[derive(Debug)]
pub struct SmolTimer(smol::Timer);

impl Future for SmolTimer {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Timer for SmolTimer {
    fn reset(&mut self, at: std::time::Instant) {
        self.0.set_at(at);
    }
}

/// A TCP or unix listener.
#[derive(Debug)]
pub enum SmolListener {
    /// TCP.
    Tcp(TcpListener, SocketOptions),
    /// Unix.
    Unix(UnixListener),
}

impl Listener for SmolListener {
    async fn accept(&self) -> io::Result<(BoxIo, Addr)> {
        match self {
            Self::Tcp(l, opts) => {
                let (stream, remote) = l.accept().await?;
                opts.apply(&stream)?;
                Ok((Box::new(stream), Addr::Tcp(remote)))
            }
            Self::Unix(l) => {
                let (stream, _) = l.accept().await?;
                Ok((Box::new(stream), self.local_addr()?))
            }
        }
    }

    fn local_addr(&self) -> io::Result<Addr> {
        match self {
            Self::Tcp(l, _) => l.local_addr().map(Addr::Tcp),
            Self::Unix(l) => Ok(Addr::Unix(
                l.local_addr()?
                    .as_pathname()
                    .map(Into::into)
                    .unwrap_or_default(),
            )),
        }
    }
}

impl Runtime for Smol {
    type Listener = SmolListener;
    type Timer = SmolTimer;

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(fut).detach();
    }

    fn timer(&self, at: std::time::Instant) -> SmolTimer {
        SmolTimer(smol::Timer::at(at))
    }

    async fn bind(&self, addr: &Addr, opts: &SocketOptions) -> io::Result<SmolListener> {
        match addr {
            Addr::Tcp(a) => Ok(SmolListener::Tcp(TcpListener::bind(a).await?, *opts)),
            Addr::Unix(path) => {
                remove_stale_socket(path);
                Ok(SmolListener::Unix(UnixListener::bind(path)?))
            }
        }
    }

    async fn connect(
        &self,
        addr: &Addr,
        local: Option<SocketAddr>,
        opts: &SocketOptions,
    ) -> io::Result<BoxIo> {
        match addr {
            Addr::Tcp(a) => {
                let stream = match local {
                    None => TcpStream::connect(a).await?,
                    Some(local) => TcpStream::from(connect_from(local, *a).await?),
                };
                opts.apply(&stream)?;
                Ok(Box::new(stream))
            }
            Addr::Unix(path) => Ok(Box::new(UnixStream::connect(path).await?)),
        }
    }
}

/// Connect from a chosen local address (async-net has no such call).
async fn connect_from(
    local: SocketAddr,
    remote: SocketAddr,
) -> io::Result<Async<std::net::TcpStream>> {
    let stream = Async::new(connecting_tcp_socket(local, remote)?)?;
    // The connect is in progress; it is done when the socket is writable.
    stream.writable().await?;
    match stream.get_ref().take_error()? {
        Some(e) => Err(e),
        None => Ok(stream),
    }
}

/// Serve any `futures-io` stream.
pub fn serve_io(peer: &Peer, io: impl Transport, remote: Addr) -> Session {
    peer.serve_conn(io, remote)
}

/// Resolve on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    use smol::stream::StreamExt;
    match async_signal::Signals::new([async_signal::Signal::Int, async_signal::Signal::Term]) {
        Ok(mut signals) => {
            signals.next().await;
        }
        Err(e) => {
            tracing::warn!(target: "teleport", "cannot watch signals: {e}");
            std::future::pending::<()>().await;
        }
    }
}

/// Wait for SIGINT/SIGTERM, then shut `peer` down gracefully with `drain`.
pub async fn shutdown_on_signal(peer: &Peer, drain: Duration) {
    shutdown_signal().await;
    tracing::info!(target: "teleport", "signal received");
    peer.shutdown(drain).await;
}
