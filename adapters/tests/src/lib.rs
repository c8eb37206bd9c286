//! The runtime harness behind the adapters' shared integration tests: what
//! differs between tokio and smol (running a test, a connected socket pair)
//! sits behind [`TestRt`]; everything else is written once.

// The README's Rust examples (core, tokio, smol) are compiled and run as doc
// tests here, where every crate they use is a dependency.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

use std::future::Future;
use std::time::Duration;

use teleport_async::{BoxIo, Runtime};

/// A runtime the shared tests run on.
pub trait TestRt: 'static {
    /// The adapter's runtime.
    type Rt: Runtime + Default;
    /// Run a test body to completion.
    fn block_on<F: Future>(f: F) -> F::Output;
    /// Two connected streams (a unix socket pair) on this runtime.
    fn socket_pair() -> (BoxIo, BoxIo);
}

/// tokio, multi-threaded with two workers.
pub struct OnTokio;

impl TestRt for OnTokio {
    type Rt = teleport_tokio::Tokio;

    fn block_on<F: Future>(f: F) -> F::Output {
        init_log();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(f)
    }

    fn socket_pair() -> (BoxIo, BoxIo) {
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        let wrap = |s: std::os::unix::net::UnixStream| -> BoxIo {
            s.set_nonblocking(true).expect("non-blocking");
            Box::new(teleport_tokio::Compat(
                tokio::net::UnixStream::from_std(s).expect("tokio stream"),
            ))
        };
        (wrap(a), wrap(b))
    }
}

/// smol's global executor.
pub struct OnSmol;

impl TestRt for OnSmol {
    type Rt = teleport_smol::Smol;

    fn block_on<F: Future>(f: F) -> F::Output {
        init_log();
        smol::block_on(f)
    }

    fn socket_pair() -> (BoxIo, BoxIo) {
        let (a, b) = smol::net::unix::UnixStream::pair().expect("socket pair");
        (Box::new(a), Box::new(b))
    }
}

/// Logs to the test output when `RUST_LOG` is set (e.g. `RUST_LOG=teleport=debug`).
pub fn init_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .with_ansi(false)
        .try_init();
}

/// Sleep on any runtime (an `async-io` timer).
pub async fn nap(d: Duration) {
    smol::Timer::after(d).await;
}

/// `fut`, or a panic naming `what` after `limit`.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    let timer = async {
        nap(limit).await;
        panic!("{what}: not done after {limit:?}");
    };
    let mut fut = std::pin::pin!(fut);
    let mut timer = std::pin::pin!(timer);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(cx) {
            return std::task::Poll::Ready(v);
        }
        timer.as_mut().poll(cx)
    })
    .await
}

/// Spawn on `R` and get a future of the result.
pub fn spawn_join<R: Runtime + Default, T: Send + 'static>(
    f: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = T> {
    let (tx, rx) = async_channel::bounded(1);
    R::default().spawn(async move {
        let _ = tx.send(f.await).await;
    });
    async move { rx.recv().await.expect("spawned task finished") }
}

/// Run each listed generic test body on each listed runtime:
/// `runtime_tests!([on_tokio: OnTokio, on_smol: OnSmol], [a, b])` makes
/// `on_tokio::a` running `a::<OnTokio>()`, and so on.
#[macro_export]
macro_rules! runtime_tests {
    ([$($module:ident: $rt:ty),* $(,)?], $tests:tt) => {
        $( $crate::runtime_tests!(@one $module, $rt, $tests); )*
    };
    (@one $module:ident, $rt:ty, [$($test:ident),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $test() {
                    <$rt as $crate::TestRt>::block_on(super::$test::<$rt>());
                }
            )*
        }
    };
}
