//! Handlers and route registration.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use teleport_core::conn::Incoming;
use teleport_core::router::names::Mapper;
use teleport_core::router::{GroupId, Plugin, RouteError, RouteId, RouteKind};
use teleport_core::{Meta, MetaView, Mtype, Seq, Status, StatusRef};

use crate::body::{Body, FromBody, bad_body};
use crate::rt::Addr;
use crate::session::{Session, log_message, meta_owned, send_error_status};

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A type-erased call or push handler, as stored in the route table.
#[derive(Clone)]
pub struct Handler(pub(crate) Arc<dyn Fn(Ctx) -> HandlerFuture + Send + Sync>);

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handler")
    }
}

/// Everything a handler can see of the message it handles.
///
/// The request is one owned buffer (service method, metadata and body), so
/// a handler may keep it as long as it likes.
pub struct Ctx {
    session: Session,
    seq: Seq,
    mtype: Mtype,
    data: Bytes,
    method: Range<usize>,
    meta: Range<usize>,
    body: Range<usize>,
    body_codec: u8,
    reply_codec: u8,
    generation: u32,
    started: std::time::Instant,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("seq", &self.seq)
            .field("mtype", &self.mtype)
            .field("service_method", &self.service_method())
            .finish_non_exhaustive()
    }
}

impl Ctx {
    pub(crate) fn new(session: Session, incoming: &Incoming<'_, Handler>, generation: u32) -> Self {
        let m = &incoming.message;
        let mut data =
            Vec::with_capacity(m.service_method.len() + m.meta.raw().len() + m.body.len());
        data.extend_from_slice(m.service_method.as_bytes());
        let method = 0..data.len();
        data.extend_from_slice(m.meta.raw());
        let meta = method.end..data.len();
        data.extend_from_slice(m.body);
        let body = meta.end..data.len();
        Self {
            session,
            seq: m.seq,
            mtype: m.mtype,
            data: Bytes::from(data),
            method,
            meta,
            body,
            body_codec: m.body_codec,
            reply_codec: m.body_codec,
            generation,
            started: std::time::Instant::now(),
        }
    }

    pub(crate) fn set_reply_codec(&mut self, codec: u8) {
        self.reply_codec = codec;
    }

    /// The session the message came on: push or call back through it.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> &Addr {
        self.session.peer_addr()
    }

    /// The message's seq.
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// CALL or PUSH.
    pub fn mtype(&self) -> Mtype {
        self.mtype
    }

    /// The service method as sent, `?query` included.
    pub fn service_method(&self) -> &str {
        // The core checked it is UTF-8 when it decoded the frame.
        std::str::from_utf8(&self.data[self.method.clone()]).unwrap_or_default()
    }

    /// The service method without its query.
    pub fn path(&self) -> &str {
        teleport_core::uri::split_query(self.service_method()).0
    }

    /// The parsed `?query` (empty when there is none).
    pub fn query(&self) -> MetaView<'_> {
        teleport_core::uri::split_query(self.service_method()).1
    }

    /// One query parameter, unescaped.
    pub fn query_value(&self, key: &str) -> Option<String> {
        self.query().get(key).map(unescape)
    }

    /// The request metadata.
    pub fn meta(&self) -> MetaView<'_> {
        MetaView::new(&self.data[self.meta.clone()])
    }

    /// The request metadata as an owned map.
    pub fn meta_map(&self) -> Meta {
        meta_owned(self.meta())
    }

    /// One metadata value, unescaped.
    pub fn meta_value(&self, key: &str) -> Option<String> {
        self.meta().get(key).map(unescape)
    }

    /// The body codec the message declares.
    pub fn body_codec(&self) -> u8 {
        self.body_codec
    }

    /// The codec the reply will use: the caller's accepted codec when this
    /// side supports it, else the request's.
    pub fn reply_codec(&self) -> u8 {
        self.reply_codec
    }

    /// The raw body.
    pub fn body(&self) -> Bytes {
        self.data.slice(self.body.clone())
    }

    /// Decode the body with the codec the message declares.
    pub fn bind<T: FromBody>(&self) -> Result<T, Status> {
        T::decode_body(self.body_codec, &self.body()).map_err(|e| bad_body(&e))
    }

    fn replier(&self) -> Replier {
        Replier {
            session: self.session.clone(),
            seq: self.seq,
            generation: self.generation,
            reply_codec: self.reply_codec,
            data: self.data.clone(),
            method: self.method.clone(),
            started: self.started,
            done: false,
        }
    }
}

fn unescape(e: teleport_core::escape::Escaped<'_>) -> String {
    let bytes: Vec<u8> = e.bytes().collect();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// What a call handler needs to answer after the user's code gave up `Ctx`.
struct Replier {
    session: Session,
    seq: Seq,
    generation: u32,
    reply_codec: u8,
    data: Bytes,
    method: Range<usize>,
    started: std::time::Instant,
    /// Set once a reply went out (or could not); a replier dropped before
    /// that (a handler that panicked or was cancelled) answers 500.
    done: bool,
}

impl Drop for Replier {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut inner = self.session.0.lock();
        if inner.generation != self.generation {
            return;
        }
        if let Some(conn) = inner.conn.as_mut() {
            let status =
                StatusRef::INTERNAL_SERVER_ERROR.with_cause("handler ended without a reply");
            let msg = teleport_core::conn::Outgoing::new(0, &[]);
            if conn.reply(self.seq, status, msg, crate::rt::now()).is_ok() {
                inner.wake_io();
            }
        }
        tracing::error!(target: "teleport", "handler for seq={} from {} ended without a reply", self.seq, self.session.peer_addr());
    }
}

impl Replier {
    async fn send<R: Body>(mut self, result: Result<R, Status>) {
        let this = &self;
        let code = std::future::poll_fn(move |cx| {
            let shared = &this.session.0;
            let mut guard = shared.lock();
            let inner = &mut *guard;
            if inner.generation != this.generation {
                return std::task::Poll::Ready(StatusRef::CONN_CLOSED.code);
            }
            let Some(conn) = inner.conn.as_mut() else {
                return std::task::Poll::Ready(StatusRef::CONN_CLOSED.code);
            };
            let mut body = std::mem::take(&mut inner.scratch);
            body.clear();
            let now = crate::rt::now();
            let (status, codec, meta) = match &result {
                Ok(value) => {
                    let codec = value.fixed_codec().unwrap_or(this.reply_codec);
                    match value.encode_body(codec, &mut body) {
                        Ok(()) => (Status::ok(), codec, value.reply_meta()),
                        Err(e) => (
                            StatusRef::INTERNAL_SERVER_ERROR
                                .to_owned()
                                .with_cause(e.to_string()),
                            0,
                            None,
                        ),
                    }
                }
                Err(status) => (status.clone(), 0, None),
            };
            let code = status.code;
            let empty = Meta::new();
            let msg = teleport_core::conn::Outgoing::new(codec, &body).with_meta(meta.unwrap_or(&empty));
            let sent = conn.reply(this.seq, status.as_ref(), msg, now);
            inner.scratch = body;
            match sent {
                Ok(()) => {
                    inner.wake_io();
                    std::task::Poll::Ready(code)
                }
                Err(e) => match send_error_status(e) {
                    None => {
                        crate::peer::push_waker(&mut inner.space_waiters, cx.waker());
                        inner.wake_io();
                        std::task::Poll::Pending
                    }
                    Some(status) => {
                        tracing::warn!(target: "teleport", "reply to {} seq={} not sent: {status}", this.session.peer_addr(), this.seq);
                        std::task::Poll::Ready(status.code)
                    }
                },
            }
        })
        .await;
        self.done = true;
        let method = std::str::from_utf8(&self.data[self.method.clone()]).unwrap_or_default();
        log_message(
            &self.session.0.config,
            "CALL <-",
            self.session.peer_addr(),
            method,
            self.seq,
            Some(self.started),
            code,
            None,
            None,
        );
    }
}

/// Wrap a typed call handler.
pub(crate) fn call_handler<F, Fut, A, R>(f: F) -> Handler
where
    F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, Status>> + Send + 'static,
    A: FromBody + Send + 'static,
    R: Body + Send + 'static,
{
    Handler(Arc::new(move |ctx: Ctx| {
        let replier = ctx.replier();
        let started = ctx.bind::<A>().map(|arg| f(ctx, arg));
        Box::pin(async move {
            let result = match started {
                Ok(fut) => fut.await,
                Err(status) => Err(status),
            };
            replier.send(result).await;
        })
    }))
}

/// Wrap a call handler that takes the raw request (unknown-call handlers).
pub(crate) fn raw_call_handler<F, Fut, R>(f: F) -> Handler
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, Status>> + Send + 'static,
    R: Body + Send + 'static,
{
    Handler(Arc::new(move |ctx: Ctx| {
        let replier = ctx.replier();
        let fut = f(ctx);
        Box::pin(async move { replier.send(fut.await).await })
    }))
}

/// Wrap a typed push handler.
pub(crate) fn push_handler<F, Fut, A>(f: F) -> Handler
where
    F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
    A: FromBody + Send + 'static,
{
    Handler(Arc::new(move |ctx: Ctx| {
        log_push(&ctx);
        match ctx.bind::<A>() {
            Ok(arg) => Box::pin(f(ctx, arg)),
            Err(status) => {
                tracing::warn!(target: "teleport", "PUSH <- {} {}: body not bound: {status}", ctx.peer_addr(), ctx.service_method());
                Box::pin(async {})
            }
        }
    }))
}

/// Wrap a push handler that takes the raw request.
pub(crate) fn raw_push_handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Handler(Arc::new(move |ctx: Ctx| {
        log_push(&ctx);
        Box::pin(f(ctx))
    }))
}

fn log_push(ctx: &Ctx) {
    log_message(
        &ctx.session.0.config,
        "PUSH <-",
        ctx.peer_addr(),
        ctx.service_method(),
        ctx.seq,
        None,
        0,
        None,
        Some(&ctx.data[ctx.body.clone()]),
    );
}

/// The route table of a peer: call and push handlers, groups, plugins and
/// the unknown-route fallbacks.
///
/// ```
/// use teleport_async::{Ctx, Router, Status};
/// async fn add(_ctx: Ctx, nums: Vec<i64>) -> Result<i64, Status> {
///     Ok(nums.iter().sum())
/// }
/// let mut router = Router::new();
/// router.call("/math/add", add).unwrap();
/// let v2 = router.group(None, "v2");
/// router.call_in(v2, "Add", add).unwrap(); // "/v2/add"
/// router.push("/echo/push", |_ctx, text: String| async move { println!("{text}") }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Router {
    pub(crate) core: teleport_core::router::Router<Handler>,
}

impl Router {
    /// A router naming controller routes `/controller/method` (Go's default).
    pub fn new() -> Self {
        Self::with_mapper(Mapper::Http)
    }

    /// A router naming controller routes `Controller.Method` (Go's RPC mapper).
    pub fn rpc() -> Self {
        Self::with_mapper(Mapper::Rpc)
    }

    /// A router with the given naming rule.
    pub fn with_mapper(mapper: Mapper) -> Self {
        Self {
            core: teleport_core::router::Router::new(mapper),
        }
    }

    /// Match service methods without regard to ASCII case.
    pub fn ignore_case(&mut self, on: bool) -> &mut Self {
        self.core.set_ignore_case(on);
        self
    }

    /// A plugin for every route.
    pub fn plugin(&mut self, plugin: impl Plugin + 'static) -> &mut Self {
        self.core.plugin(plugin);
        self
    }

    /// A route group (prefix) inside `parent` (or the root), named by the mapper.
    pub fn group(&mut self, parent: Option<GroupId>, name: &str) -> GroupId {
        self.core.group(parent, name)
    }

    /// A plugin for every route of a group.
    pub fn group_plugin(&mut self, group: GroupId, plugin: impl Plugin + 'static) -> &mut Self {
        self.core.group_plugin(group, plugin);
        self
    }

    /// A plugin for one route.
    pub fn route_plugin(&mut self, route: RouteId, plugin: impl Plugin + 'static) -> &mut Self {
        self.core.route_plugin(route, plugin);
        self
    }

    /// A call handler at exactly `path`. The body is bound to `A` with the
    /// codec the message declares; `R` is encoded with the reply codec.
    pub fn call<F, Fut, A, R>(&mut self, path: &str, f: F) -> Result<RouteId, RouteError>
    where
        F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, Status>> + Send + 'static,
        A: FromBody + Send + 'static,
        R: Body + Send + 'static,
    {
        self.core.route(RouteKind::Call, path, call_handler(f))
    }

    /// A call handler named `name` inside `group` (mapper applied).
    pub fn call_in<F, Fut, A, R>(
        &mut self,
        group: GroupId,
        name: &str,
        f: F,
    ) -> Result<RouteId, RouteError>
    where
        F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, Status>> + Send + 'static,
        A: FromBody + Send + 'static,
        R: Body + Send + 'static,
    {
        self.core
            .route_in(RouteKind::Call, group, name, call_handler(f))
    }

    /// A controller method as a call route: `("Math", "add")` → `/math/add`
    /// or `Math.Add`. Used by [`call_controller!`](crate::call_controller).
    pub fn call_method<F, Fut, A, R>(
        &mut self,
        group: Option<GroupId>,
        controller: &str,
        method: &str,
        f: F,
    ) -> Result<RouteId, RouteError>
    where
        F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, Status>> + Send + 'static,
        A: FromBody + Send + 'static,
        R: Body + Send + 'static,
    {
        let method = capitalize(method);
        let ids = self.core.controller(
            RouteKind::Call,
            group,
            controller,
            [(method.as_str(), call_handler(f))],
        )?;
        Ok(ids[0])
    }

    /// A controller method as a push route. Used by [`push_controller!`](crate::push_controller).
    pub fn push_method<F, Fut, A>(
        &mut self,
        group: Option<GroupId>,
        controller: &str,
        method: &str,
        f: F,
    ) -> Result<RouteId, RouteError>
    where
        F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        A: FromBody + Send + 'static,
    {
        let method = capitalize(method);
        let ids = self.core.controller(
            RouteKind::Push,
            group,
            controller,
            [(method.as_str(), push_handler(f))],
        )?;
        Ok(ids[0])
    }

    /// A push handler at exactly `path`.
    pub fn push<F, Fut, A>(&mut self, path: &str, f: F) -> Result<RouteId, RouteError>
    where
        F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        A: FromBody + Send + 'static,
    {
        self.core.route(RouteKind::Push, path, push_handler(f))
    }

    /// A push handler named `name` inside `group` (mapper applied).
    pub fn push_in<F, Fut, A>(
        &mut self,
        group: GroupId,
        name: &str,
        f: F,
    ) -> Result<RouteId, RouteError>
    where
        F: Fn(Ctx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        A: FromBody + Send + 'static,
    {
        self.core
            .route_in(RouteKind::Push, group, name, push_handler(f))
    }

    /// Handle calls that match no route (instead of answering 404).
    pub fn unknown_call<F, Fut, R>(&mut self, f: F) -> &mut Self
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, Status>> + Send + 'static,
        R: Body + Send + 'static,
    {
        self.core.set_unknown_call(raw_call_handler(f));
        self
    }

    /// Handle pushes that match no route (instead of dropping them).
    pub fn unknown_push<F, Fut>(&mut self, f: F) -> &mut Self
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.core.set_unknown_push(raw_push_handler(f));
        self
    }

    /// Every registered route: kind and full service method.
    pub fn routes(&self) -> impl Iterator<Item = (RouteKind, &str)> {
        self.core.routes().map(|(k, p, _)| (k, p))
    }
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Register a controller's async methods as call routes, type-checked.
///
/// Each method is `async fn name(&self, ctx: Ctx, arg: A) -> Result<R, Status>`;
/// `Math { add }` becomes `/math/add` (or `Math.Add` with [`Router::rpc`]).
/// A group can be given first: `call_controller!(router, Some(group), Math = ..)`.
///
/// ```
/// use std::sync::Arc;
/// use teleport_async::{Ctx, Router, Status, call_controller};
/// struct Math;
/// impl Math {
///     async fn add(&self, _ctx: Ctx, nums: Vec<i64>) -> Result<i64, Status> {
///         Ok(nums.iter().sum())
///     }
///     async fn neg(&self, _ctx: Ctx, n: i64) -> Result<i64, Status> {
///         Ok(-n)
///     }
/// }
/// let mut router = Router::new();
/// call_controller!(router, Math = Arc::new(Math), [add, neg]).unwrap();
/// let paths: Vec<_> = router.routes().map(|(_, p)| p.to_string()).collect();
/// assert_eq!(paths, ["/math/add", "/math/neg"]);
/// ```
#[macro_export]
macro_rules! call_controller {
    ($router:expr, $ctrl:ident = $state:expr, [$($method:ident),* $(,)?]) => {
        $crate::__controller!(call_method, $router, None, $ctrl = $state, [$($method),*])
    };
    ($router:expr, $group:expr, $ctrl:ident = $state:expr, [$($method:ident),* $(,)?]) => {
        $crate::__controller!(call_method, $router, $group, $ctrl = $state, [$($method),*])
    };
}

/// Register a controller's async methods as push routes, type-checked.
///
/// Each method is `async fn name(&self, ctx: Ctx, arg: A)`; otherwise as
/// [`call_controller!`].
#[macro_export]
macro_rules! push_controller {
    ($router:expr, $ctrl:ident = $state:expr, [$($method:ident),* $(,)?]) => {
        $crate::__controller!(push_method, $router, None, $ctrl = $state, [$($method),*])
    };
    ($router:expr, $group:expr, $ctrl:ident = $state:expr, [$($method:ident),* $(,)?]) => {
        $crate::__controller!(push_method, $router, $group, $ctrl = $state, [$($method),*])
    };
}

/// The body of both controller macros.
#[doc(hidden)]
#[macro_export]
macro_rules! __controller {
    ($register:ident, $router:expr, $group:expr, $ctrl:ident = $state:expr, [$($method:ident),*]) => {{
        let state: ::std::sync::Arc<$ctrl> = $state;
        let router: &mut $crate::Router = &mut $router;
        (|| -> ::core::result::Result<(), $crate::RouteError> {
            $(
                let s = state.clone();
                router.$register($group, stringify!($ctrl), stringify!($method), move |ctx, arg| {
                    let s = s.clone();
                    async move { s.$method(ctx, arg).await }
                })?;
            )*
            Ok(())
        })()
    }};
}
