//! Service methods: a URI path with an optional `?query`.

use crate::meta::MetaView;

/// Split a service method into its path and its query (empty when there is
/// no `?`). The query uses the same `k=v&…` rules as metadata.
///
/// ```
/// use teleport_core::uri::split_query;
/// let (path, query) = split_query("/math/add?author=andeya&x=1");
/// assert_eq!(path, "/math/add");
/// assert!(query.get("author").unwrap().eq_str("andeya"));
/// assert_eq!(split_query("Hello.Say").0, "Hello.Say");
/// ```
pub fn split_query(service_method: &str) -> (&str, MetaView<'_>) {
    match service_method.split_once('?') {
        Some((path, query)) => (path, MetaView::new(query.as_bytes())),
        None => (service_method, MetaView::new(b"")),
    }
}
