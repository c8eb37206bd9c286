//! A fixed routing table for builds without `alloc`.

use super::{Plugin, PluginVisitor, Reject, RouteId, RouteKind, Routes, strip_prefix};

/// A group: a path prefix and plugins shared by its routes. Groups nest
/// through `parent`; a route's full path is the prefixes, outermost first,
/// followed by its own path.
#[derive(Clone, Copy)]
pub struct StaticGroup<'a> {
    /// Path prefix, e.g. `/math`.
    pub prefix: &'a str,
    /// The enclosing group.
    pub parent: Option<&'a Self>,
    /// Plugins for every route in the group (and nested groups).
    pub plugins: &'a [&'a dyn Plugin],
}

impl core::fmt::Debug for StaticGroup<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StaticGroup")
            .field("prefix", &self.prefix)
            .field("parent", &self.parent)
            .field("plugins", &self.plugins.len())
            .finish()
    }
}

/// One route of a [`StaticRouter`].
#[derive(Clone, Copy)]
pub struct StaticRoute<'a, H> {
    /// CALL or PUSH.
    pub kind: RouteKind,
    /// Path after the group prefixes (the whole path without a group).
    pub path: &'a str,
    /// The group, if any.
    pub group: Option<&'a StaticGroup<'a>>,
    /// The application's handler.
    pub handler: H,
    /// Plugins for this route only.
    pub plugins: &'a [&'a dyn Plugin],
}

impl<'a, H> StaticRoute<'a, H> {
    /// A CALL route at `path`, no group, no plugins.
    pub const fn call(path: &'a str, handler: H) -> Self {
        Self {
            kind: RouteKind::Call,
            path,
            group: None,
            handler,
            plugins: &[],
        }
    }

    /// A PUSH route at `path`, no group, no plugins.
    pub const fn push(path: &'a str, handler: H) -> Self {
        Self {
            kind: RouteKind::Push,
            path,
            group: None,
            handler,
            plugins: &[],
        }
    }

    fn matches(&self, kind: RouteKind, path: &str, ignore_case: bool) -> bool {
        if self.kind != kind {
            return false;
        }
        let rest = match self.group {
            Some(g) => match strip_group(g, path, ignore_case) {
                Some(rest) => rest,
                None => return false,
            },
            None => path,
        };
        if ignore_case {
            rest.eq_ignore_ascii_case(self.path)
        } else {
            rest == self.path
        }
    }
}

impl<H: core::fmt::Debug> core::fmt::Debug for StaticRoute<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StaticRoute")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("group", &self.group)
            .field("handler", &self.handler)
            .finish_non_exhaustive()
    }
}

fn strip_group<'p>(group: &StaticGroup<'_>, path: &'p str, ignore_case: bool) -> Option<&'p str> {
    let rest = match group.parent {
        Some(parent) => strip_group(parent, path, ignore_case)?,
        None => path,
    };
    strip_prefix(rest, group.prefix, ignore_case)
}

fn visit_group(group: &StaticGroup<'_>, visit: PluginVisitor<'_>) -> Result<(), Reject> {
    if let Some(parent) = group.parent {
        visit_group(parent, visit)?;
    }
    group.plugins.iter().try_for_each(|p| visit(*p))
}

/// A routing table that needs no allocation: build it as a `static` or a
/// `const`. Lookup is a linear scan (tables on devices are small).
///
/// ```
/// use teleport_core::router::{RouteKind, Routes, StaticGroup, StaticRoute, StaticRouter};
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Handler { LedSet, Telemetry, Unknown }
///
/// static LED: StaticGroup = StaticGroup { prefix: "/led", parent: None, plugins: &[] };
/// static ROUTES: [StaticRoute<Handler>; 2] = [
///     StaticRoute { group: Some(&LED), ..StaticRoute::call("/set", Handler::LedSet) },
///     StaticRoute::push("/telemetry/tick", Handler::Telemetry),
/// ];
/// static ROUTER: StaticRouter<Handler> = StaticRouter {
///     routes: &ROUTES,
///     plugins: &[],
///     unknown_call: Some(Handler::Unknown),
///     unknown_push: None,
///     ignore_case: false,
/// };
///
/// assert_eq!(ROUTER.find(RouteKind::Call, "/led/set").map(|(_, h)| *h), Some(Handler::LedSet));
/// assert_eq!(ROUTER.find(RouteKind::Call, "/nope").map(|(_, h)| *h), Some(Handler::Unknown));
/// assert!(ROUTER.find(RouteKind::Push, "/nope").is_none());
/// ```
#[derive(Clone, Copy)]
pub struct StaticRouter<'a, H> {
    /// The routes, searched in order.
    pub routes: &'a [StaticRoute<'a, H>],
    /// Plugins for every message.
    pub plugins: &'a [&'a dyn Plugin],
    /// Handler for CALLs that match no route (else 404).
    pub unknown_call: Option<H>,
    /// Handler for PUSHes that match no route (else dropped).
    pub unknown_push: Option<H>,
    /// Match paths ignoring ASCII case.
    pub ignore_case: bool,
}

impl<H: core::fmt::Debug> core::fmt::Debug for StaticRouter<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StaticRouter")
            .field("routes", &self.routes)
            .field("unknown_call", &self.unknown_call)
            .field("unknown_push", &self.unknown_push)
            .field("ignore_case", &self.ignore_case)
            .finish_non_exhaustive()
    }
}

impl<H> Routes for StaticRouter<'_, H> {
    type Handler = H;

    fn find(&self, kind: RouteKind, path: &str) -> Option<(RouteId, &H)> {
        let found = self
            .routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(kind, path, self.ignore_case));
        if let Some((i, r)) = found {
            return Some((RouteId::Route(i as u32), &r.handler));
        }
        super::fallback(kind, &self.unknown_call, &self.unknown_push)
    }

    fn handler(&self, route: RouteId) -> Option<&H> {
        match route {
            RouteId::Route(i) => self.routes.get(i as usize).map(|r| &r.handler),
            RouteId::UnknownCall => self.unknown_call.as_ref(),
            RouteId::UnknownPush => self.unknown_push.as_ref(),
        }
    }

    fn visit_plugins(
        &self,
        route: Option<RouteId>,
        visit: PluginVisitor<'_>,
    ) -> Result<(), Reject> {
        match route {
            None => self.plugins.iter().try_for_each(|p| visit(*p)),
            Some(RouteId::Route(i)) => {
                let Some(r) = self.routes.get(i as usize) else {
                    return Ok(());
                };
                if let Some(g) = r.group {
                    visit_group(g, visit)?;
                }
                r.plugins.iter().try_for_each(|p| visit(*p))
            }
            Some(RouteId::UnknownCall | RouteId::UnknownPush) => Ok(()),
        }
    }
}
