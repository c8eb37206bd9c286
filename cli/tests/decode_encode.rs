//! `teleport decode` / `teleport encode` against the Go reference frames.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = match std::env::var_os("TELEPORT_SPEC_DIR") {
        Some(dir) => PathBuf::from(dir).join("vectors.json"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/vectors.json"),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; check out shared/ beside the repository",
            path.display()
        )
    });
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_teleport"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn decode_prints_the_listed_fields() {
    let vectors = vectors();
    let hex: String = vectors
        .iter()
        .map(|v| v["hex"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n ");
    let out = run(&["decode", "--hex"], hex.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = lines(&out);
    assert_eq!(got.len(), vectors.len());
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for line in text.lines() {
        // Exactly these keys, in this order.
        let keys = [
            "size",
            "xfer",
            "seq",
            "mtype",
            "service_method",
            "status",
            "meta",
            "body_codec",
            "body_hex",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| line.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert!(line.starts_with("{\"size\":"));
    }
    for (g, v) in got.iter().zip(&vectors) {
        let f = &v["fields"];
        assert_eq!(g.as_object().unwrap().len(), 9);
        assert_eq!(g["size"], v["hex"].as_str().unwrap().len() / 2);
        for k in [
            "xfer",
            "seq",
            "mtype",
            "service_method",
            "meta",
            "body_codec",
            "body_hex",
        ] {
            assert_eq!(g[k], f[k], "{} {k}", v["name"]);
        }
        if v["status_query"] == "" {
            assert!(g["status"].is_null());
        } else {
            assert_eq!(g["status"]["code"], f["status_code"], "{}", v["name"]);
            assert_eq!(g["status"]["msg"], f["status_msg"], "{}", v["name"]);
            assert_eq!(g["status"]["cause"], f["status_cause"], "{}", v["name"]);
        }
    }
}

#[test]
fn encode_of_decode_reproduces_the_frames() {
    for v in vectors() {
        let hex = v["hex"].as_str().unwrap();
        let decoded = run(&["decode", "--hex"], hex.as_bytes());
        assert!(decoded.status.success());
        let encoded = run(&["encode", "--hex"], &decoded.stdout);
        assert!(
            encoded.status.success(),
            "{}",
            String::from_utf8_lossy(&encoded.stderr)
        );
        let frame = String::from_utf8(encoded.stdout).unwrap();
        if v["fields"]["xfer"].as_array().unwrap().is_empty() {
            assert_eq!(frame.trim(), hex, "{}", v["name"]);
        } else {
            // Compressed bytes may differ from Go's: compare what they decode to.
            let again = run(&["decode", "--hex"], frame.as_bytes());
            let (mut a, mut b) = (lines(&again), lines(&decoded));
            a[0]["size"] = Value::Null;
            b[0]["size"] = Value::Null;
            assert_eq!(a, b, "{}", v["name"]);
        }
    }
}

#[test]
fn raw_bytes_in_and_out() {
    let hex = vectors()[0]["hex"].as_str().unwrap().to_owned();
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let decoded = run(&["decode"], &raw);
    assert!(decoded.status.success());
    let encoded = run(&["encode"], &decoded.stdout);
    assert_eq!(encoded.stdout, raw);
}

#[test]
fn bad_frames_print_an_error_and_fail() {
    let good = vectors()[1]["hex"].as_str().unwrap().to_owned();
    // A good frame, then one whose seq text is not base 36.
    let bad = "0000001600012a02000006636f64653d3000006a3135";
    let out = run(&["decode", "--hex"], format!("{good}{bad}").as_bytes());
    assert!(!out.status.success());
    let got = lines(&out);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["seq"], 1);
    let err = got[1]["error"].as_str().unwrap();
    assert!(err.contains("seq") && err.contains("offset 6"), "{err}");
    // A size over the limit is refused from the prefix.
    let out = run(&["decode", "--hex", "--limit", "100"], b"00001000");
    assert!(!out.status.success());
    assert!(lines(&out)[0]["error"].as_str().unwrap().contains("limit"));
    // encode refuses an unknown message type.
    let out = run(&["encode", "--hex"], br#"{"seq":1,"mtype":9}"#);
    assert!(!out.status.success());
}
