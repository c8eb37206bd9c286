//! A router built at runtime (with `alloc`).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::names::Mapper;
use super::{Plugin, PluginVisitor, Reject, RouteId, RouteKind, Routes};

/// A group of routes: see [`Router::group`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupId(usize);

/// Why a route could not be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The path is already registered for this kind.
    Duplicate(String),
    /// The path is empty or longer than the wire allows (255 bytes).
    BadPath(String),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate(p) => write!(f, "route {p:?} is already registered"),
            Self::BadPath(p) => write!(f, "route {p:?} is empty or longer than 255 bytes"),
        }
    }
}

impl core::error::Error for RouteError {}

type SharedPlugin = Arc<dyn Plugin>;

struct Group {
    prefix: String,
    parent: Option<usize>,
    plugins: Vec<SharedPlugin>,
}

struct Route<H> {
    kind: RouteKind,
    path: Box<str>,
    group: Option<usize>,
    handler: H,
    plugins: Vec<SharedPlugin>,
}

/// A router built at runtime: exact paths, groups with prefixes and plugins,
/// controllers named by the Go framework's mappers, fallbacks, ignore-case.
///
/// ```
/// use teleport_core::router::{names::Mapper, RouteKind, Router, Routes};
///
/// let mut router = Router::new(Mapper::Http);
/// router.controller(RouteKind::Call, None, "Math", [("Add", 1), ("Sub", 2)])?;
/// let v2 = router.group(None, "v2");
/// router.route_in(RouteKind::Call, v2, "GetURL", 3)?;
/// router.set_unknown_call(0);
///
/// assert_eq!(router.find(RouteKind::Call, "/math/add").map(|(_, h)| *h), Some(1));
/// assert_eq!(router.find(RouteKind::Call, "/v2/get_url").map(|(_, h)| *h), Some(3));
/// assert_eq!(router.find(RouteKind::Call, "/other").map(|(_, h)| *h), Some(0));
/// assert!(router.find(RouteKind::Push, "/math/add").is_none());
/// # Ok::<(), teleport_core::router::RouteError>(())
/// ```
pub struct Router<H> {
    mapper: Mapper,
    ignore_case: bool,
    routes: Vec<Route<H>>,
    calls: BTreeMap<Box<str>, u32>,
    pushes: BTreeMap<Box<str>, u32>,
    groups: Vec<Group>,
    plugins: Vec<SharedPlugin>,
    unknown_call: Option<H>,
    unknown_push: Option<H>,
}

impl<H> fmt::Debug for Router<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("mapper", &self.mapper)
            .field("ignore_case", &self.ignore_case)
            .field("calls", &self.calls.keys().collect::<Vec<_>>())
            .field("pushes", &self.pushes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<H> Default for Router<H> {
    fn default() -> Self {
        Self::new(Mapper::Http)
    }
}

impl<H> Router<H> {
    /// An empty router naming controller routes with `mapper`.
    pub fn new(mapper: Mapper) -> Self {
        Self {
            mapper,
            ignore_case: false,
            routes: Vec::new(),
            calls: BTreeMap::new(),
            pushes: BTreeMap::new(),
            groups: Vec::new(),
            plugins: Vec::new(),
            unknown_call: None,
            unknown_push: None,
        }
    }

    /// Match paths ignoring ASCII case (set before registering routes).
    pub fn set_ignore_case(&mut self, ignore_case: bool) -> &mut Self {
        self.ignore_case = ignore_case;
        self
    }

    /// Add a plugin that sees every message.
    pub fn plugin(&mut self, plugin: impl Plugin + 'static) -> &mut Self {
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Add a shared plugin that sees every message.
    pub fn plugin_shared(&mut self, plugin: Arc<dyn Plugin>) -> &mut Self {
        self.plugins.push(plugin);
        self
    }

    /// A group named `name` (mapped: `V2` → `/v2` for HTTP style) inside
    /// `parent`, or at the root.
    pub fn group(&mut self, parent: Option<GroupId>, name: &str) -> GroupId {
        let base = self.prefix_of(parent);
        let prefix = self.mapper.group(&base, name);
        self.groups.push(Group {
            prefix,
            parent: parent.map(|g| g.0),
            plugins: Vec::new(),
        });
        GroupId(self.groups.len() - 1)
    }

    /// Add a plugin to every route of a group (and its nested groups).
    pub fn group_plugin(&mut self, group: GroupId, plugin: impl Plugin + 'static) -> &mut Self {
        if let Some(g) = self.groups.get_mut(group.0) {
            g.plugins.push(Arc::new(plugin));
        }
        self
    }

    /// The full path prefix of a group.
    pub fn prefix_of(&self, group: Option<GroupId>) -> String {
        match group.and_then(|g| self.groups.get(g.0)) {
            Some(g) => g.prefix.clone(),
            None => self.mapper.root(),
        }
    }

    /// Register `path` exactly as given.
    pub fn route(
        &mut self,
        kind: RouteKind,
        path: &str,
        handler: H,
    ) -> Result<RouteId, RouteError> {
        self.insert(kind, String::from(path), None, handler)
    }

    /// Register `name` inside `group`, named by the mapper
    /// (`GetURL` in `/v2` → `/v2/get_url`).
    pub fn route_in(
        &mut self,
        kind: RouteKind,
        group: GroupId,
        name: &str,
        handler: H,
    ) -> Result<RouteId, RouteError> {
        let path = self.mapper.join(&self.prefix_of(Some(group)), name);
        self.insert(kind, path, Some(group.0), handler)
    }

    /// Register a controller's methods: `Math` + `Add` → `/math/add`
    /// (HTTP mapper) or `Math.Add` (RPC mapper).
    pub fn controller<'n>(
        &mut self,
        kind: RouteKind,
        group: Option<GroupId>,
        controller: &str,
        methods: impl IntoIterator<Item = (&'n str, H)>,
    ) -> Result<Vec<RouteId>, RouteError> {
        let base = self.prefix_of(group);
        methods
            .into_iter()
            .map(|(method, handler)| {
                let path = self.mapper.method_in(&base, controller, method);
                self.insert(kind, path, group.map(|g| g.0), handler)
            })
            .collect()
    }

    /// Add a plugin to one route.
    pub fn route_plugin(&mut self, route: RouteId, plugin: impl Plugin + 'static) -> &mut Self {
        if let RouteId::Route(i) = route
            && let Some(r) = self.routes.get_mut(i as usize)
        {
            r.plugins.push(Arc::new(plugin));
        }
        self
    }

    /// Handle CALLs that match no route (instead of answering 404).
    pub fn set_unknown_call(&mut self, handler: H) -> &mut Self {
        self.unknown_call = Some(handler);
        self
    }

    /// Handle PUSHes that match no route (instead of dropping them).
    pub fn set_unknown_push(&mut self, handler: H) -> &mut Self {
        self.unknown_push = Some(handler);
        self
    }

    /// Every registered route: kind, full path, handler.
    pub fn routes(&self) -> impl Iterator<Item = (RouteKind, &str, &H)> {
        self.routes.iter().map(|r| (r.kind, &*r.path, &r.handler))
    }

    fn insert(
        &mut self,
        kind: RouteKind,
        path: String,
        group: Option<usize>,
        handler: H,
    ) -> Result<RouteId, RouteError> {
        if path.is_empty() || path.len() > super::MAX_SERVICE_METHOD {
            return Err(RouteError::BadPath(path));
        }
        let key: Box<str> = if self.ignore_case {
            path.to_ascii_lowercase().into()
        } else {
            path.as_str().into()
        };
        let index =
            u32::try_from(self.routes.len()).map_err(|_| RouteError::BadPath(path.clone()))?;
        let map = match kind {
            RouteKind::Call => &mut self.calls,
            RouteKind::Push => &mut self.pushes,
        };
        if map.contains_key(&key) {
            return Err(RouteError::Duplicate(path));
        }
        map.insert(key, index);
        self.routes.push(Route {
            kind,
            path: path.into(),
            group,
            handler,
            plugins: Vec::new(),
        });
        Ok(RouteId::Route(index))
    }

    fn visit_group(&self, group: usize, visit: PluginVisitor<'_>) -> Result<(), Reject> {
        let Some(g) = self.groups.get(group) else {
            return Ok(());
        };
        if let Some(parent) = g.parent {
            self.visit_group(parent, visit)?;
        }
        g.plugins.iter().try_for_each(|p| visit(&**p))
    }
}

impl<H> Routes for Router<H> {
    type Handler = H;

    fn find(&self, kind: RouteKind, path: &str) -> Option<(RouteId, &H)> {
        let map = match kind {
            RouteKind::Call => &self.calls,
            RouteKind::Push => &self.pushes,
        };
        let index = if self.ignore_case && path.bytes().any(|b| b.is_ascii_uppercase()) {
            let mut buf = super::MethodBuf::default();
            match buf.set(path) {
                Ok(()) => {
                    buf.make_ascii_lowercase();
                    map.get(buf.as_str())
                }
                Err(_) => None,
            }
        } else {
            map.get(path)
        };
        if let Some(&i) = index {
            return self
                .routes
                .get(i as usize)
                .map(|r| (RouteId::Route(i), &r.handler));
        }
        super::fallback(kind, &self.unknown_call, &self.unknown_push)
    }

    fn handler(&self, id: RouteId) -> Option<&H> {
        match id {
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
            None => self.plugins.iter().try_for_each(|p| visit(&**p)),
            Some(RouteId::Route(i)) => {
                let Some(r) = self.routes.get(i as usize) else {
                    return Ok(());
                };
                if let Some(g) = r.group {
                    self.visit_group(g, visit)?;
                }
                r.plugins.iter().try_for_each(|p| visit(&**p))
            }
            Some(RouteId::UnknownCall | RouteId::UnknownPush) => Ok(()),
        }
    }
}
