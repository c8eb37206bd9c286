//! Allocation counts on the decode path, measured with a counting allocator.
// A global allocator cannot be written without unsafe; it only forwards to System.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use teleport_benches::{BenchmarkMessage, bench_call_frame};
use teleport_core::frame::{DEFAULT_FRAME_LIMIT, Decoded, decode_frame};
use teleport_core::xfer::XferFilters;
use teleport_core::{Message, codec};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
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
    let before = ALLOCS.load(Ordering::Relaxed);
    f();
    ALLOCS.load(Ordering::Relaxed) - before
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
