//! Route names as the Go framework derives them.
//!
//! Two mappers exist. The HTTP-style one (the default) snake-cases names and
//! joins them as a clean rooted path: `Math` + `Add` → `/math/add`. The
//! RPC-style one keeps names and joins them with dots: `Math.Add`.
//!
//! ```
//! use teleport_core::router::names::{Mapper, snake_case};
//! assert_eq!(Mapper::Http.method("Math", "Add"), "/math/add");
//! assert_eq!(Mapper::Http.method("HTTPServer", "GetURL"), "/httpserver/get_url");
//! assert_eq!(Mapper::Rpc.method("Hello", "Say"), "Hello.Say");
//! assert_eq!(snake_case("UserID"), "user_id");
//! // Groups are mapped names too, and nest.
//! let v1 = Mapper::Http.group("/", "/API/V1");
//! assert_eq!(Mapper::Http.method(&v1, "Math"), "/api/v1/math");
//! ```

use alloc::string::String;
use alloc::vec::Vec;

/// Go's `SnakeString`: an upper-case letter that follows a lower-case letter,
/// a digit or any other byte except `_` gets an `_` before it; then
/// everything is lower-cased. Runs of capitals stay together
/// (`HTTPServer` → `httpserver`, `GetURL` → `get_url`).
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut after_word = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if after_word {
                out.push('_');
                after_word = false;
            }
        } else if c != '_' {
            after_word = true;
        }
        out.push(c);
    }
    // Go lower-cases with strings.ToLower, which is Unicode-aware.
    out.to_lowercase()
}

/// A single `_` followed by another character becomes `sep`; a run of two
/// or more becomes one literal `_`; a trailing single `_` stays.
fn split_underscores(name: &str, sep: char) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c != '_' {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars
            .get(i..)
            .map_or(0, |rest| rest.iter().take_while(|&&x| x == '_').count());
        let at_end = i + run >= chars.len();
        out.push(if run == 1 && !at_end { sep } else { '_' });
        i += run;
    }
    out
}

/// Go's `toServiceMethods`.
fn to_service_method(name: &str, sep: char, snake: bool) -> String {
    let split = split_underscores(name, sep);
    if !snake {
        return split;
    }
    let mut s = snake_case(&split);
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    let sep_underscore: String = [sep, '_'].iter().collect();
    s.replace(&sep_underscore, &String::from(sep))
}

/// Go's `path.Join("/", …)` + `path.Clean`: a rooted path without empty,
/// `.` or `..` segments and without a trailing slash.
fn clean_rooted(parts: &[&str]) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for part in parts {
        for seg in part.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments.push(s),
            }
        }
    }
    let mut out = String::from("/");
    out.push_str(&segments.join("/"));
    out
}

/// How controller and method names become service methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mapper {
    /// `/snake_case/path` names (the Go framework's default).
    #[default]
    Http,
    /// `Struct.Method` names.
    Rpc,
}

impl Mapper {
    /// The prefix of the root route group (`/` or empty).
    pub fn root(self) -> String {
        self.join("", "")
    }

    /// Map `name` under `prefix` (Go's mapper function).
    pub fn join(self, prefix: &str, name: &str) -> String {
        match self {
            Self::Http => clean_rooted(&[prefix, &to_service_method(name, '/', true)]),
            Self::Rpc => {
                let mut s = String::from(prefix);
                s.push('.');
                s.push_str(&to_service_method(name, '.', false));
                String::from(s.trim_matches('.'))
            }
        }
    }

    /// The prefix of a route group named `name` inside the group `parent`.
    pub fn group(self, parent: &str, name: &str) -> String {
        self.join(parent, name)
    }

    /// The service method of `controller`'s `method` in the root group.
    pub fn method(self, controller: &str, method: &str) -> String {
        self.method_in(&self.root(), controller, method)
    }

    /// The service method of `controller`'s `method` in the group `prefix`.
    pub fn method_in(self, prefix: &str, controller: &str, method: &str) -> String {
        self.join(&self.join(prefix, controller), method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_like_go() {
        for (input, want) in [
            ("HTTPServer", "httpserver"),
            ("GetURL", "get_url"),
            ("Math", "math"),
            ("ABTest", "abtest"),
            ("ABcXYz", "abc_xyz"),
            ("UserID", "user_id"),
            ("wakeRPC", "wake_rpc"),
            ("Add2Num", "add2_num"),
            ("_TcP__RpC_", "_tc_p__rp_c_"),
            ("ÄpfelBaum", "äpfel_baum"),
        ] {
            assert_eq!(snake_case(input), want, "{input}");
        }
    }

    #[test]
    fn http_mapper_like_go() {
        let m = Mapper::Http;
        assert_eq!(m.root(), "/");
        assert_eq!(m.join("/", "Aa_Bb"), "/aa/bb");
        assert_eq!(m.join("/", "Aa__Bb"), "/aa_bb");
        assert_eq!(m.join("/", "ABC_XYZ"), "/abc/xyz");
        assert_eq!(m.method("Math", "Add"), "/math/add");
        assert_eq!(m.method("Home", "Test"), "/home/test");
        let v1 = m.group(&m.root(), "v1");
        assert_eq!(v1, "/v1");
        assert_eq!(m.method_in(&v1, "Math", "Add"), "/v1/math/add");
        assert_eq!(m.group("/", "/API/V1"), "/api/v1");
        assert_eq!(m.join("/a/", "../B//C/"), "/b/c");
    }

    #[test]
    fn rpc_mapper_like_go() {
        let m = Mapper::Rpc;
        assert_eq!(m.root(), "");
        assert_eq!(m.join("", "Aa_Bb"), "Aa.Bb");
        assert_eq!(m.join("", "Aa__Bb"), "Aa_Bb");
        assert_eq!(m.method("Hello", "Say"), "Hello.Say");
        let v1 = m.group("", "v1");
        assert_eq!(m.method_in(&v1, "Math", "Add"), "v1.Math.Add");
    }
}
