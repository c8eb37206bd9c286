//! What a runtime adapter provides: spawning, timers, sockets.
//!
//! Everything above this trait (sessions, routing, redial, shutdown, TLS) is
//! shared by every runtime; an adapter implements [`Runtime`] and nothing else.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

/// A byte stream the session driver can use: TCP, unix, TLS, or your own.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// A boxed [`Transport`].
pub type BoxIo = Box<dyn Transport>;

/// A resettable sleep.
pub trait Timer: Future<Output = ()> + Send + Unpin + 'static {
    /// Fire at `at` instead.
    fn reset(&mut self, at: std::time::Instant);
}

/// An accepting socket.
pub trait Listener: Send + Sync + 'static {
    /// Wait for the next connection.
    fn accept(&self) -> impl Future<Output = io::Result<(BoxIo, Addr)>> + Send;
    /// The bound address (with the real port when `:0` was asked for).
    fn local_addr(&self) -> io::Result<Addr>;
}

/// The runtime-specific half of an adapter.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The listener type.
    type Listener: Listener;
    /// The timer type.
    type Timer: Timer;

    /// Run `fut` to completion in the background.
    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static);
    /// A timer firing at `at`.
    fn timer(&self, at: std::time::Instant) -> Self::Timer;
    /// Bind a listener at `addr` (TCP or unix).
    fn bind(
        &self,
        addr: &Addr,
        opts: &SocketOptions,
    ) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// Connect to `addr`, from `local` when given (TCP only).
    fn connect(
        &self,
        addr: &Addr,
        local: Option<SocketAddr>,
        opts: &SocketOptions,
    ) -> impl Future<Output = io::Result<BoxIo>> + Send;
}

/// Where a peer is: a TCP address or a unix socket path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    /// TCP.
    Tcp(SocketAddr),
    /// Unix stream socket.
    Unix(PathBuf),
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(a) => write!(f, "{a}"),
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// The Go framework's network names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Network {
    /// IPv4 or IPv6.
    #[default]
    Tcp,
    /// IPv4 only.
    Tcp4,
    /// IPv6 only.
    Tcp6,
    /// Unix stream socket; the address is a path.
    Unix,
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "tcp" => Self::Tcp,
            "tcp4" => Self::Tcp4,
            "tcp6" => Self::Tcp6,
            "unix" => Self::Unix,
            other => return Err(format!("unknown network {other:?} (tcp, tcp4, tcp6, unix)")),
        })
    }
}

impl Network {
    /// Resolve `addr` ("host:port" or a path) for this network.
    ///
    /// ```
    /// use teleport_async::{Addr, Network};
    /// let a = Network::Tcp4.resolve("127.0.0.1:9090").unwrap();
    /// assert_eq!(a, Addr::Tcp("127.0.0.1:9090".parse().unwrap()));
    /// assert!(Network::Tcp6.resolve("127.0.0.1:9090").is_err());
    /// assert_eq!(Network::Unix.resolve("/tmp/s").unwrap(), Addr::Unix("/tmp/s".into()));
    /// ```
    pub fn resolve(self, addr: &str) -> io::Result<Addr> {
        use std::net::ToSocketAddrs;
        if self == Self::Unix {
            return Ok(Addr::Unix(PathBuf::from(addr)));
        }
        // Literal addresses never block; names go through the system resolver.
        let found = addr
            .to_socket_addrs()?
            .find(|a| match self {
                Self::Tcp4 => a.is_ipv4(),
                Self::Tcp6 => a.is_ipv6(),
                _ => true,
            })
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("no {self:?} address for {addr}"),
                )
            })?;
        Ok(Addr::Tcp(found))
    }
}

/// Socket options applied to every TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// `TCP_NODELAY` (on by default: RPC frames are small and latency-bound).
    pub nodelay: bool,
    /// TCP keepalive with this idle period; off when `None`.
    pub keepalive: Option<Duration>,
    /// `SO_RCVBUF`, when set.
    pub recv_buffer_size: Option<usize>,
    /// `SO_SNDBUF`, when set.
    pub send_buffer_size: Option<usize>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            nodelay: true,
            keepalive: None,
            recv_buffer_size: None,
            send_buffer_size: None,
        }
    }
}

impl SocketOptions {
    /// Apply to a connected TCP socket; adapters call this after connect/accept.
    pub fn apply<S: std::os::fd::AsFd>(&self, sock: &S) -> io::Result<()> {
        let sock = socket2::SockRef::from(sock);
        sock.set_nodelay(self.nodelay)?;
        if let Some(idle) = self.keepalive {
            sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle))?;
        }
        if let Some(n) = self.recv_buffer_size {
            sock.set_recv_buffer_size(n)?;
        }
        if let Some(n) = self.send_buffer_size {
            sock.set_send_buffer_size(n)?;
        }
        Ok(())
    }
}

/// A non-blocking TCP socket bound to `local` with a connect to `remote` in
/// progress: for runtimes whose connect cannot choose the local address.
/// The caller waits until it is writable, then checks `take_error`.
pub fn connecting_tcp_socket(
    local: SocketAddr,
    remote: SocketAddr,
) -> io::Result<std::net::TcpStream> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(remote),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    sock.bind(&local.into())?;
    sock.set_nonblocking(true)?;
    match sock.connect(&remote.into()) {
        Ok(()) => {}
        // EINPROGRESS (Linux 115, BSDs 36): the normal answer of a non-blocking connect.
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock
                || matches!(e.raw_os_error(), Some(115 | 36)) => {}
        Err(e) => return Err(e),
    }
    Ok(sock.into())
}

/// Remove a socket file left at `path` by a dead server (it would make
/// bind fail); anything that is not a socket is left alone.
pub fn remove_stale_socket(path: &std::path::Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

fn epoch() -> std::time::Instant {
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// Now, on the core's millisecond clock.
pub fn now() -> teleport_core::Instant {
    to_core(std::time::Instant::now())
}

/// A `std` instant on the core's clock (milliseconds since a process epoch).
pub fn to_core(t: std::time::Instant) -> teleport_core::Instant {
    let ms = t.saturating_duration_since(epoch()).as_millis();
    teleport_core::Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// A core instant as a `std` instant (far future for `NEVER`).
pub fn to_std(t: teleport_core::Instant) -> std::time::Instant {
    let far = Duration::from_secs(86_400 * 365);
    let ms = Duration::from_millis(t.as_millis());
    epoch()
        .checked_add(ms.min(far))
        .unwrap_or_else(|| epoch() + far)
}

/// Sleep for `d` on `rt`'s timers (durations past a year are cut to a year).
pub async fn sleep<R: Runtime>(rt: &R, d: Duration) {
    let now = std::time::Instant::now();
    let far = now + Duration::from_secs(86_400 * 365);
    rt.timer(now.checked_add(d).map_or(far, |t| t.min(far)))
        .await;
}

/// Poll two futures; the first to finish wins.
pub(crate) async fn race<A: Future, B: Future<Output = A::Output>>(a: A, b: B) -> A::Output {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
            return std::task::Poll::Ready(v);
        }
        Pin::new(&mut b).as_mut().poll(cx)
    })
    .await
}
