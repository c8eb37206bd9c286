//! Service-method routing and plugins.
//!
//! A router maps the path of an incoming CALL or PUSH (the service method
//! without its `?query`) to a handler value of the application's choosing
//! (an index, a function pointer, a boxed handler, ...). The connection asks
//! it through the [`Routes`] trait, runs its plugins, and answers 404 itself
//! when a CALL matches nothing.
//!
//! - [`StaticRouter`]: a fixed table, no allocation (firmware).
//! - `Router` (with `alloc`): built at runtime, with groups, controllers and
//!   the Go framework's name mappers ([`names`]).

#[cfg(feature = "alloc")]
mod dynamic;
#[cfg(feature = "alloc")]
pub mod names;
mod plugin;
mod table;

#[cfg(feature = "alloc")]
pub use dynamic::{GroupId, RouteError, Router};

pub(crate) use plugin::{ChainMeta, ReadHook, run_write_hook};
pub use plugin::{
    EXTRA_META_CAPACITY, ExtraMeta, IgnoreCase, MAX_SERVICE_METHOD, MethodBuf, Plugin, ReadHeader,
    Reject, Role, WriteHeader,
};
pub use table::{StaticGroup, StaticRoute, StaticRouter};

/// Whether a route serves CALLs or PUSHes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RouteKind {
    /// Request/reply.
    Call,
    /// One-way.
    Push,
}

/// Identifies what a message was routed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RouteId {
    /// A registered route, by index.
    Route(u32),
    /// The unknown-call fallback.
    UnknownCall,
    /// The unknown-push fallback.
    UnknownPush,
}

/// A hook callback: run one plugin, maybe reject.
pub type PluginVisitor<'v> = &'v mut dyn FnMut(&dyn Plugin) -> Result<(), Reject>;

/// What a connection needs from a router.
pub trait Routes {
    /// The application's handler value.
    type Handler;

    /// Find the route for `path` (no `?query`), falling back to the
    /// unknown-call or unknown-push handler.
    fn find(&self, kind: RouteKind, path: &str) -> Option<(RouteId, &Self::Handler)>;

    /// The handler behind a route id [`find`](Self::find) returned.
    fn handler(&self, route: RouteId) -> Option<&Self::Handler>;

    /// Visit plugins in order: the global ones when `route` is `None`; the
    /// group and route plugins of `route` otherwise. Stops at the first
    /// rejection.
    fn visit_plugins(&self, route: Option<RouteId>, visit: PluginVisitor<'_>)
    -> Result<(), Reject>;
}

impl<R: Routes + ?Sized> Routes for &R {
    type Handler = R::Handler;
    fn find(&self, kind: RouteKind, path: &str) -> Option<(RouteId, &Self::Handler)> {
        (**self).find(kind, path)
    }
    fn handler(&self, route: RouteId) -> Option<&Self::Handler> {
        (**self).handler(route)
    }
    fn visit_plugins(
        &self,
        route: Option<RouteId>,
        visit: PluginVisitor<'_>,
    ) -> Result<(), Reject> {
        (**self).visit_plugins(route, visit)
    }
}

#[cfg(feature = "alloc")]
impl<R: Routes + ?Sized> Routes for alloc::sync::Arc<R> {
    type Handler = R::Handler;
    fn find(&self, kind: RouteKind, path: &str) -> Option<(RouteId, &Self::Handler)> {
        (**self).find(kind, path)
    }
    fn handler(&self, route: RouteId) -> Option<&Self::Handler> {
        (**self).handler(route)
    }
    fn visit_plugins(
        &self,
        route: Option<RouteId>,
        visit: PluginVisitor<'_>,
    ) -> Result<(), Reject> {
        (**self).visit_plugins(route, visit)
    }
}

/// No routes at all: every CALL gets 404, every PUSH is dropped. Useful for
/// a pure client.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRoutes;

impl Routes for NoRoutes {
    type Handler = ();
    fn find(&self, _: RouteKind, _: &str) -> Option<(RouteId, &())> {
        None
    }
    fn handler(&self, _: RouteId) -> Option<&()> {
        None
    }
    fn visit_plugins(&self, _: Option<RouteId>, _: PluginVisitor<'_>) -> Result<(), Reject> {
        Ok(())
    }
}

/// The unknown-call or unknown-push fallback, as [`Routes::find`] returns it.
pub(crate) fn fallback<'h, H>(
    kind: RouteKind,
    unknown_call: &'h Option<H>,
    unknown_push: &'h Option<H>,
) -> Option<(RouteId, &'h H)> {
    match kind {
        RouteKind::Call => unknown_call.as_ref().map(|h| (RouteId::UnknownCall, h)),
        RouteKind::Push => unknown_push.as_ref().map(|h| (RouteId::UnknownPush, h)),
    }
}

/// `path` starts with `prefix` (ASCII case folded when asked); the rest.
pub(crate) fn strip_prefix<'p>(path: &'p str, prefix: &str, ignore_case: bool) -> Option<&'p str> {
    let head = path.get(..prefix.len())?;
    let same = if ignore_case {
        head.eq_ignore_ascii_case(prefix)
    } else {
        head == prefix
    };
    if same { path.get(prefix.len()..) } else { None }
}
