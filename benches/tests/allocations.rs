//! Allocation counts on the decode path, measured with a counting allocator.
// A global allocator cannot be written without unsafe; it only forwards to System.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use teleport_benches::{BenchmarkMessage, bench_call_frame};
use teleport_core::frame::{DEFAULT_FRAME_LIMIT, Decoded, decode_frame};
use teleport_core::xfer::XferFilters;
use teleport_core::{Message, codec};

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not count each other.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn bench_message_is_the_go_clients_581_bytes() {
    let mut body = Vec::new();
    codec::protobuf::encode(&BenchmarkMessage::prepared(), &mut body).unwrap();
    assert_eq!(body.len(), 581);
    // Byte-identical to the body of the Go client's captured CALL.
    let spec =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/vectors.json");
    let text = std::fs::read_to_string(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
    let at = text
        .find("\"call_bench_protobuf\"")
        .expect("bench vector present");
    let key = "\"body_hex\": \"";
    let start = at + text[at..].find(key).unwrap() + key.len();
    let end = start + text[start..].find('"').unwrap();
    assert_eq!(hex::encode(&body), &text[start..end]);
}

#[test]
fn decoding_allocates_nothing() {
    let frame = bench_call_frame();
    let n = allocations(|| {
        let Ok(Decoded::Frame(raw)) = decode_frame(&frame, DEFAULT_FRAME_LIMIT) else {
            panic!()
        };
        let view = raw.message().unwrap();
        assert_eq!(view.body.len(), 581);
        assert!(view.status.is_ok());
    });
    assert_eq!(n, 0);

    // The owned form slices the frame: no allocation either when there is no meta.
    let shared = Bytes::from(frame);
    // The first clone of a `Bytes` made from a `Vec` allocates its shared
    // header once; frames from `FrameReader` are already shared.
    drop(shared.clone());
    let filters = XferFilters::new();
    let n = allocations(|| {
        let m = Message::decode(shared.clone(), &filters, DEFAULT_FRAME_LIMIT).unwrap();
        assert_eq!(m.body.len(), 581);
    });
    assert_eq!(n, 0);
}

#[test]
fn a_call_reply_cycle_allocates_nothing() {
    use teleport_benches::cycle;
    use teleport_core::conn::{Fixed, Growable};
    use teleport_core::router::{RouteKind, Router};

    let mut body = Vec::new();
    codec::protobuf::encode(&BenchmarkMessage::prepared(), &mut body).unwrap();

    // Fixed storage never touches the heap at all.
    let mut fixed: cycle::Pair<Fixed<2048, 2048, 4, 4>, _> = cycle::Pair::new(&cycle::ROUTER);
    let n = allocations(|| {
        for _ in 0..100 {
            assert_eq!(fixed.cycle(&body), 581);
        }
    });
    assert_eq!(n, 0, "fixed storage, 100 cycles");

    // Growable storage allocates while its buffers and tables warm up, then
    // reuses them.
    let mut router = Router::default();
    router.route(RouteKind::Call, "Hello.Say", 1u8).unwrap();
    let mut growable: cycle::Pair<Growable, _> = cycle::Pair::new(router);
    for _ in 0..10 {
        growable.cycle(&body);
    }
    let n = allocations(|| {
        for _ in 0..100 {
            assert_eq!(growable.cycle(&body), 581);
        }
    });
    assert_eq!(n, 0, "growable storage after warm-up, 100 cycles");
}
