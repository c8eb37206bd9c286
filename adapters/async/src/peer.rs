//! `Peer`: listen, dial, redial, the session registry, graceful shutdown.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use teleport_core::conn::{CloseReason, Connection, Outgoing};
use teleport_core::router::Role;
use teleport_core::xfer::XferFilters;
use teleport_core::{Status, StatusRef};

use crate::body::Body;
use crate::config::PeerConfig;
use crate::handler::{Handler, Router};
use crate::rt::{self, Addr, BoxIo, Listener, Runtime};
use crate::session::{Conn, Inner, Session, Shared};

/// A one-shot broadcast flag with waiters (shutdown, registry changes).
#[derive(Default)]
pub(crate) struct Signal {
    set: AtomicBool,
    waiters: Mutex<Vec<Waker>>,
}

impl Signal {
    pub(crate) fn fire(&self) {
        self.set.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *lock(&self.waiters));
        for w in waiters {
            w.wake();
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    pub(crate) async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.is_set() {
                return Poll::Ready(());
            }
            push_waker(&mut lock(&self.waiters), cx.waker());
            if self.is_set() {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
    }
}

/// Remember `waker` unless an equivalent one is already waiting, so
/// re-polled waits do not grow the list.
pub(crate) fn push_waker(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|w| w.will_wake(waker)) {
        list.push(waker.clone());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Live sessions by id.
#[derive(Default)]
pub(crate) struct Registry {
    map: Mutex<HashMap<String, Session>>,
    /// Woken whenever a session leaves.
    left: Mutex<Vec<Waker>>,
}

impl Registry {
    fn insert(&self, session: &Session) {
        let mut map = lock(&self.map);
        let base = session.id();
        let mut id = base.clone();
        let mut n = 1;
        while map.contains_key(&id) {
            n += 1;
            id = format!("{base}#{n}");
        }
        if id != base {
            session.0.lock().id.clone_from(&id);
        }
        map.insert(id, session.clone());
    }

    /// Re-key `session` from `old` to `new`; returns the id it got (a taken
    /// id gets a `#n` suffix, as on insert).
    pub(crate) fn rename(&self, old: &str, new: String, session: &Session) -> String {
        let mut map = lock(&self.map);
        if !map.get(old).is_some_and(|s| s.same(session)) {
            // Finished (or never registered): nothing to re-key.
            return new;
        }
        map.remove(old);
        let mut id = new.clone();
        let mut n = 1;
        while map.contains_key(&id) {
            n += 1;
            id = format!("{new}#{n}");
        }
        map.insert(id.clone(), session.clone());
        id
    }

    fn remove(&self, session: &Session) {
        let id = session.id();
        {
            let mut map = lock(&self.map);
            if map.get(&id).is_some_and(|s| s.same(session)) {
                map.remove(&id);
            }
        }
        for w in std::mem::take(&mut *lock(&self.left)) {
            w.wake();
        }
    }

    fn len(&self) -> usize {
        lock(&self.map).len()
    }

    fn all(&self) -> Vec<Session> {
        lock(&self.map).values().cloned().collect()
    }

    async fn wait_empty(&self) {
        std::future::poll_fn(|cx| {
            if self.len() == 0 {
                return Poll::Ready(());
            }
            push_waker(&mut lock(&self.left), cx.waker());
            if self.len() == 0 {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
    }
}

/// Options of one dial.
#[derive(Clone, Debug, Default)]
pub struct DialOptions {
    /// Dial timeout (default: the peer's `default_dial_timeout`).
    pub timeout: Option<Duration>,
    /// Local address to dial from (default: the peer's `local_address`).
    pub local_address: Option<SocketAddr>,
    /// TLS: client config and the server name to verify.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::ClientTls>,
}

pub(crate) struct PeerInner<R: Runtime> {
    rt: R,
    config: Arc<PeerConfig>,
    router: Arc<teleport_core::router::Router<Handler>>,
    xfer: Arc<XferFilters>,
    registry: Arc<Registry>,
    shutdown: Signal,
    anon: AtomicU64,
    #[cfg(feature = "tls")]
    tls_server: Mutex<Option<Arc<crate::tls::ServerConfig>>>,
}

/// A Teleport peer: the same value can listen, dial, and serve any transport.
///
/// Cheap to clone; clones share sessions and routes.
pub struct Peer<R: Runtime> {
    inner: Arc<PeerInner<R>>,
}

impl<R: Runtime> Clone for Peer<R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

/// A bound listener; see [`Peer::listen`].
#[derive(Clone, Debug)]
pub struct Listening {
    /// The bound address (the real port when `:0` was asked for).
    pub addr: Addr,
}

impl<R: Runtime + Default> Peer<R> {
    /// A peer with routes (use [`Router::default`] for a pure client).
    pub fn new(config: PeerConfig, router: Router) -> Self {
        Self::with_runtime(config, router, R::default())
    }
}

impl<R: Runtime> Peer<R> {
    /// A peer on an explicit runtime handle.
    pub fn with_runtime(config: PeerConfig, router: Router, rt: R) -> Self {
        Self {
            inner: Arc::new(PeerInner {
                rt,
                config: Arc::new(config),
                router: Arc::new(router.core),
                xfer: Arc::new(XferFilters::with_defaults()),
                registry: Arc::default(),
                shutdown: Signal::default(),
                anon: AtomicU64::new(0),
                #[cfg(feature = "tls")]
                tls_server: Mutex::new(None),
            }),
        }
    }

    /// Use these transfer filters instead of the defaults (gzip `g`, md5 `m`).
    #[must_use]
    pub fn with_xfer_filters(mut self, filters: XferFilters) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.xfer = Arc::new(filters);
        }
        self
    }

    /// Serve TLS on every listener of this peer.
    #[cfg(feature = "tls")]
    pub fn set_tls_server(&self, config: Arc<crate::tls::ServerConfig>) {
        *lock(&self.inner.tls_server) = Some(config);
    }

    /// The peer's settings.
    pub fn config(&self) -> &PeerConfig {
        &self.inner.config
    }

    /// The runtime handle.
    pub fn runtime(&self) -> &R {
        &self.inner.rt
    }

    /// Bind `config.listen_address` and serve in the background; returns
    /// once bound (with the real port of `:0`).
    pub async fn listen(&self) -> io::Result<Listening> {
        let addr = self
            .inner
            .config
            .network
            .resolve(&self.inner.config.listen_address)?;
        let listener = self.inner.rt.bind(&addr, &self.inner.config.socket).await?;
        let bound = listener.local_addr()?;
        tracing::info!(target: "teleport", "listening on {bound}");
        let peer = self.clone();
        self.inner
            .rt
            .spawn(async move { peer.accept_loop(listener).await });
        Ok(Listening { addr: bound })
    }

    /// Listen and serve until [`shutdown`](Self::shutdown) finishes.
    pub async fn listen_and_serve(&self) -> io::Result<()> {
        self.listen().await?;
        self.inner.shutdown.wait().await;
        self.inner.registry.wait_empty().await;
        Ok(())
    }

    async fn accept_loop(self, listener: R::Listener) {
        let local = listener.local_addr().ok();
        loop {
            let next = rt::race(async { Some(listener.accept().await) }, async {
                self.inner.shutdown.wait().await;
                None
            })
            .await;
            match next {
                None => break,
                Some(Ok((io, remote))) => {
                    if let Some(cap) = self.inner.config.max_sessions
                        && self.inner.registry.len() >= cap
                    {
                        tracing::warn!(target: "teleport", "refusing {remote}: {cap} sessions already");
                        continue;
                    }
                    let peer = self.clone();
                    self.inner.rt.spawn(async move {
                        if let Some(io) = peer.server_handshake(io, &remote).await {
                            peer.serve_boxed(io, remote);
                        }
                    });
                }
                Some(Err(e)) => {
                    tracing::warn!(target: "teleport", "accept failed: {e}");
                    // Out of descriptors and similar: back off instead of spinning.
                    rt::sleep(&self.inner.rt, Duration::from_millis(50)).await;
                }
            }
        }
        if let Some(Addr::Unix(path)) = local {
            let _ = std::fs::remove_file(path);
        }
        tracing::info!(target: "teleport", "listener closed");
    }

    #[cfg(feature = "tls")]
    async fn server_handshake(&self, io: BoxIo, remote: &Addr) -> Option<BoxIo> {
        let config = lock(&self.inner.tls_server).clone();
        let Some(config) = config else {
            return Some(io);
        };
        let accept = crate::tls::accept(config, io);
        let timeout = rt::sleep(&self.inner.rt, self.inner.config.default_dial_timeout);
        match rt::race(accept, async {
            timeout.await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            ))
        })
        .await
        {
            Ok(io) => Some(io),
            Err(e) => {
                tracing::warn!(target: "teleport", "TLS handshake with {remote} failed: {e}");
                None
            }
        }
    }

    #[cfg(not(feature = "tls"))]
    async fn server_handshake(&self, io: BoxIo, _remote: &Addr) -> Option<BoxIo> {
        Some(io)
    }

    /// Serve a connection you accepted yourself, over any transport.
    pub fn serve_conn(&self, io: impl rt::Transport, remote: Addr) -> Session {
        self.serve_boxed(Box::new(io), remote)
    }

    /// Run a client session over a connection you made yourself (any
    /// transport). It is not redialed: the peer cannot know how.
    pub fn client_conn(&self, io: impl rt::Transport, remote: Addr) -> Session {
        let session = self.new_session(Role::Client, remote);
        let peer = self.clone();
        let s = session.clone();
        self.inner.rt.spawn(async move {
            let reason = crate::driver::drive(&peer.inner.rt, &s.0, Box::new(io)).await;
            peer.finish(&s, reason);
        });
        session
    }

    fn serve_boxed(&self, io: BoxIo, remote: Addr) -> Session {
        let session = self.new_session(Role::Server, remote);
        tracing::info!(target: "teleport", "accepted session {}", session.peer_addr());
        let peer = self.clone();
        let s = session.clone();
        self.inner.rt.spawn(async move {
            let reason = crate::driver::drive(&peer.inner.rt, &s.0, io).await;
            peer.finish(&s, reason);
        });
        session
    }

    fn new_conn(&self, role: Role) -> Conn {
        let now = rt::now();
        let config = &self.inner.config;
        let mut conn = Connection::new(
            config.conn_config_for(role),
            role,
            self.inner.router.clone(),
            now,
        )
        .with_xfer_filters(self.inner.xfer.clone());
        if role == Role::Client
            && let Some(bearer) = &config.auth_bearer
        {
            // Queued first; calls the application makes meanwhile wait.
            let sent = conn.auth_call(Outgoing::new(bearer.codec, &bearer.body), now);
            if let Err(e) = sent {
                tracing::warn!(target: "teleport", "auth call not sent: {e}");
                conn.close(None, now);
            }
        }
        conn
    }

    fn new_session(&self, role: Role, remote: Addr) -> Session {
        let id = match &remote {
            Addr::Unix(p) => format!(
                "unix:{}#{}",
                p.display(),
                self.inner.anon.fetch_add(1, Ordering::Relaxed)
            ),
            Addr::Tcp(a) => a.to_string(),
        };
        let session = Session(Arc::new(Shared {
            inner: Mutex::new(Inner {
                conn: Some(self.new_conn(role)),
                generation: 0,
                calls: HashMap::new(),
                io_waker: None,
                space_waiters: Vec::new(),
                close_waiters: Vec::new(),
                finished: None,
                closing: false,
                redialing: false,
                id,
                scratch: Vec::new(),
            }),
            remote,
            config: self.inner.config.clone(),
            registry: Arc::downgrade(&self.inner.registry),
            timer: {
                let rt = self.inner.rt.clone();
                Arc::new(move |at| Box::pin(rt.timer(at)))
            },
        }));
        self.inner.registry.insert(&session);
        if self.inner.shutdown.is_set() {
            session.close_with(Some(Duration::ZERO));
        }
        session
    }

    fn finish(&self, session: &Session, reason: CloseReason) {
        let mut inner = session.0.lock();
        inner.conn = None;
        inner.redialing = false;
        inner.finished = Some(reason);
        inner.wake_senders();
        for w in inner.close_waiters.drain(..) {
            w.wake();
        }
        drop(inner);
        self.inner.registry.remove(session);
        tracing::debug!(target: "teleport", "session {} finished: {reason}", session.peer_addr());
    }

    /// Dial `addr` ("host:port", or a path for the unix network).
    pub async fn dial(&self, addr: &str) -> Result<Session, Status> {
        self.dial_with(addr, DialOptions::default()).await
    }

    /// Dial with options (timeout, local address, TLS).
    pub async fn dial_with(&self, addr: &str, opts: DialOptions) -> Result<Session, Status> {
        let target = self
            .inner
            .config
            .network
            .resolve(addr)
            .map_err(|e| dial_failed(&e))?;
        let io = self
            .connect(&target, &opts)
            .await
            .map_err(|e| dial_failed(&e))?;
        let session = self.new_session(Role::Client, target.clone());
        tracing::info!(target: "teleport", "dialed session {target}");
        let peer = self.clone();
        let s = session.clone();
        self.inner.rt.spawn(async move {
            let reason = peer.run_client(&s, io, &target, &opts).await;
            peer.finish(&s, reason);
        });
        Ok(session)
    }

    async fn connect(&self, target: &Addr, opts: &DialOptions) -> io::Result<BoxIo> {
        let config = &self.inner.config;
        let timeout = opts.timeout.unwrap_or(config.default_dial_timeout);
        let local = opts.local_address.or(config.local_address);
        let connect = async {
            let io = self.inner.rt.connect(target, local, &config.socket).await?;
            #[cfg(feature = "tls")]
            if let Some(tls) = &opts.tls {
                return crate::tls::connect(tls, io).await;
            }
            Ok(io)
        };
        rt::race(connect, async {
            rt::sleep(&self.inner.rt, timeout).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("dial timed out after {timeout:?}"),
            ))
        })
        .await
    }

    /// Drive a client session, redialing after unexpected disconnects.
    async fn run_client(
        &self,
        session: &Session,
        mut io: BoxIo,
        target: &Addr,
        opts: &DialOptions,
    ) -> CloseReason {
        let config = &self.inner.config;
        loop {
            let reason = crate::driver::drive(&self.inner.rt, &session.0, io).await;
            // Closes we asked for, or that a redial would only repeat.
            let wanted = matches!(
                reason,
                CloseReason::Local
                    | CloseReason::Drained
                    | CloseReason::DrainTimeout
                    | CloseReason::Rejected(_)
                    | CloseReason::AuthFailed { .. }
            );
            if wanted || config.redial_times == 0 || self.stop_redial(session) {
                return reason;
            }
            {
                let mut inner = session.0.lock();
                inner.conn = None;
                inner.redialing = true;
                inner.wake_senders();
            }
            tracing::warn!(target: "teleport", "session {target} lost ({reason}); redialing");
            let mut attempt = 0i64;
            let next = loop {
                if config.redial_times >= 0 && attempt >= i64::from(config.redial_times) {
                    break None;
                }
                attempt += 1;
                rt::sleep(&self.inner.rt, config.redial_interval).await;
                if self.stop_redial(session) {
                    break None;
                }
                match self.connect(target, opts).await {
                    Ok(io) => break Some(io),
                    Err(e) => {
                        tracing::warn!(target: "teleport", "redial {attempt} to {target} failed: {e}");
                    }
                }
            };
            let Some(new_io) = next else {
                tracing::warn!(target: "teleport", "giving up on {target} after {attempt} redials");
                return reason;
            };
            io = new_io;
            let mut inner = session.0.lock();
            if inner.closing || self.inner.shutdown.is_set() {
                // Closed while the dial was in flight.
                return reason;
            }
            inner.generation = inner.generation.wrapping_add(1);
            inner.conn = Some(self.new_conn(Role::Client));
            inner.redialing = false;
            inner.wake_senders();
            tracing::info!(target: "teleport", "session {target} redialed");
        }
    }

    fn stop_redial(&self, session: &Session) -> bool {
        session.0.lock().closing || self.inner.shutdown.is_set()
    }

    /// The session with this id.
    pub fn get_session(&self, id: &str) -> Option<Session> {
        lock(&self.inner.registry.map).get(id).cloned()
    }

    /// Call `f` on every live session until it returns `false`.
    pub fn range_sessions(&self, mut f: impl FnMut(&Session) -> bool) {
        for s in self.inner.registry.all() {
            if !f(&s) {
                break;
            }
        }
    }

    /// How many sessions are live.
    pub fn count_sessions(&self) -> usize {
        self.inner.registry.len()
    }

    /// Push to every live session; returns how many pushes were queued.
    pub async fn broadcast<A: Body + Sync + ?Sized>(&self, uri: &str, arg: &A) -> usize {
        let mut sent = 0;
        for s in self.inner.registry.all() {
            if s.push(uri, arg).await.is_ok() {
                sent += 1;
            }
        }
        sent
    }

    /// Stop accepting, let calls in flight finish for up to `drain` (both
    /// ways), close every session, and return when all are gone.
    pub async fn shutdown(&self, drain: Duration) {
        tracing::info!(target: "teleport", "shutting down: {} sessions, drain {drain:?}", self.count_sessions());
        self.inner.shutdown.fire();
        for s in self.inner.registry.all() {
            s.close_with(Some(drain));
        }
        let grace = drain.saturating_add(Duration::from_secs(1));
        let drained = rt::race(
            async {
                self.inner.registry.wait_empty().await;
                true
            },
            async {
                rt::sleep(&self.inner.rt, grace).await;
                false
            },
        )
        .await;
        if !drained {
            for s in self.inner.registry.all() {
                s.close_with(None);
            }
            rt::race(self.inner.registry.wait_empty(), async {
                rt::sleep(&self.inner.rt, Duration::from_secs(1)).await;
            })
            .await;
        }
        tracing::info!(target: "teleport", "shutdown finished");
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.is_set()
    }
}

fn dial_failed(e: &io::Error) -> Status {
    StatusRef::DIAL_FAILED.to_owned().with_cause(e.to_string())
}
