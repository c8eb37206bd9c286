//! Teleport (eRPC) for Rust over tokio.
//!
//! Everything runtime-independent (sessions, routing, redial, shutdown, TLS,
//! logging) lives in `teleport-async` and is re-exported here; this crate
//! adds tokio's sockets, timers and spawning, and a signal helper.
//!
//! ```no_run
//! use teleport_tokio::{Ctx, Peer, PeerConfig, Router, Status};
//!
//! async fn add(_ctx: Ctx, nums: Vec<i64>) -> Result<i64, Status> {
//!     Ok(nums.iter().sum())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! let mut router = Router::new();
//! router.call("/math/add", add).unwrap();
//! let server = Peer::new(PeerConfig { listen_address: "127.0.0.1:0".into(), ..Default::default() }, router);
//! let bound = server.listen().await?;
//!
//! let client = Peer::new(PeerConfig::default(), Router::new());
//! let session = client.dial(&bound.addr.to_string()).await.unwrap();
//! let sum: i64 = session.call("/math/add", &[1, 2, 3]).await.unwrap().decode().unwrap();
//! assert_eq!(sum, 6);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub use teleport_async::*;

/// The tokio runtime as a Teleport [`Runtime`]. Uses the ambient tokio
/// runtime (call from inside one).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// A peer on tokio.
pub type Peer = teleport_async::Peer<Tokio>;

/// A tokio sleep that can be moved again.
#[derive(Debug)]
pub struct TokioTimer(Pin<Box<tokio::time::Sleep>>);

impl Future for TokioTimer {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Timer for TokioTimer {
    fn reset(&mut self, at: std::time::Instant) {
        self.0.as_mut().reset(at.into());
    }
}

/// A TCP or unix listener.
#[derive(Debug)]
pub enum TokioListener {
    /// TCP.
    Tcp(tokio::net::TcpListener, SocketOptions),
    /// Unix.
    Unix(tokio::net::UnixListener),
}

impl Listener for TokioListener {
    async fn accept(&self) -> io::Result<(BoxIo, Addr)> {
        match self {
            Self::Tcp(l, opts) => {
                let (stream, remote) = l.accept().await?;
                opts.apply(&stream)?;
                Ok((Box::new(Compat(stream)), Addr::Tcp(remote)))
            }
            Self::Unix(l) => {
                let (stream, remote) = l.accept().await?;
                let path = remote
                    .as_pathname()
                    .map(std::path::Path::to_path_buf)
                    .or_else(|| l.local_addr().ok()?.as_pathname().map(Into::into))
                    .unwrap_or_default();
                Ok((Box::new(Compat(stream)), Addr::Unix(path)))
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

impl Runtime for Tokio {
    type Listener = TokioListener;
    type Timer = TokioTimer;

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(fut);
    }

    fn timer(&self, at: std::time::Instant) -> TokioTimer {
        TokioTimer(Box::pin(tokio::time::sleep_until(at.into())))
    }

    async fn bind(&self, addr: &Addr, opts: &SocketOptions) -> io::Result<TokioListener> {
        match addr {
            Addr::Tcp(a) => Ok(TokioListener::Tcp(
                tokio::net::TcpListener::bind(a).await?,
                *opts,
            )),
            Addr::Unix(path) => {
                remove_stale_socket(path);
                Ok(TokioListener::Unix(tokio::net::UnixListener::bind(path)?))
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
                let socket = if a.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                if let Some(local) = local {
                    socket.bind(local)?;
                }
                let stream = socket.connect(*a).await?;
                opts.apply(&stream)?;
                Ok(Box::new(Compat(stream)))
            }
            Addr::Unix(path) => Ok(Box::new(Compat(
                tokio::net::UnixStream::connect(path).await?,
            ))),
        }
    }
}

/// A tokio stream seen through the runtime-neutral `futures-io` traits.
#[derive(Debug)]
pub struct Compat<T>(pub T);

impl<T: tokio::io::AsyncRead + Unpin> futures_io::AsyncRead for Compat<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = tokio::io::ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> futures_io::AsyncWrite for Compat<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Serve any tokio stream (an in-memory duplex, a serial port, ...).
pub fn serve_tokio_io(
    peer: &Peer,
    io: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    remote: Addr,
) -> Session {
    peer.serve_conn(Compat(io), remote)
}

/// Run a client session over any tokio stream you connected yourself.
pub fn client_tokio_io(
    peer: &Peer,
    io: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    remote: Addr,
) -> Session {
    peer.client_conn(Compat(io), remote)
}

/// Resolve on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Wait for SIGINT/SIGTERM, then shut `peer` down gracefully with `drain`.
pub async fn shutdown_on_signal(peer: &Peer, drain: Duration) {
    shutdown_signal().await;
    tracing::info!(target: "teleport", "signal received");
    peer.shutdown(drain).await;
}
