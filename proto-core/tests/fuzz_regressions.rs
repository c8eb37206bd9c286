//! Every input saved under `fuzz/regressions/<target>/` (crashes the fuzz
//! targets found, kept after the fix) replayed through the same checks the
//! fuzz targets run (`fuzz/src/harness.rs`), on stable and without libFuzzer.

#[path = "../../fuzz/src/harness.rs"]
mod harness;

use std::path::PathBuf;

type Store = teleport_core::conn::Growable;
type FixedStore = teleport_core::conn::Fixed<1024, 1024, 4, 4>;

fn conn_both(data: &[u8]) {
    harness::conn_ops::<Store>(data);
    harness::conn_ops::<FixedStore>(data);
}

/// A fuzz target's checks.
type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 6] = [
    ("frame_decode", harness::frame_stream),
    ("frame_roundtrip", harness::frame_roundtrip),
    ("meta_status", harness::meta_status),
    ("xfer_unpack", harness::xfer_unpack),
    ("conn_ops", conn_both),
    ("router", harness::router),
];

fn regressions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions")
}

#[test]
fn saved_fuzz_findings_stay_fixed() {
    let root = regressions();
    assert!(root.is_dir(), "{} is missing", root.display());
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            eprintln!(
                "replaying {target}/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            check(&data);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no saved inputs under {}", root.display());
}

/// The checks themselves run on stable too: a quick deterministic sweep so
/// a broken harness is caught by the normal suite, not first by CI's fuzz step.
#[test]
fn harness_runs_on_pseudo_random_inputs() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let len = (next() % 600) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let (_, check) = TARGETS[round % TARGETS.len()];
        check(&data);
    }
}
