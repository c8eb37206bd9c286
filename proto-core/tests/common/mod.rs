//! Loads the reference frames captured from the Go framework.
#![allow(dead_code)]

use std::path::PathBuf;

use serde::Deserialize;
use teleport_core::{Message, Meta, Mtype, Seq, Status};

pub mod pair;

#[derive(Deserialize, Debug, Clone)]
pub struct Fields {
    pub seq: i32,
    pub mtype: u8,
    pub service_method: String,
    pub status_code: i32,
    pub status_msg: String,
    pub status_cause: Option<String>,
    pub meta: Vec<(String, String)>,
    pub body_codec: u8,
    pub body_hex: String,
    pub xfer: Vec<u8>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Vector {
    pub name: String,
    pub hex: String,
    pub status_query: String,
    pub meta_query: String,
    pub payload_after_xfer_hex: Option<String>,
    pub fields: Fields,
}

impl Vector {
    pub fn bytes(&self) -> Vec<u8> {
        hex::decode(&self.hex).expect("vector hex")
    }

    /// The message the fields describe.
    pub fn message(&self) -> Message {
        let f = &self.fields;
        let mut m = Message::new(
            Seq(f.seq),
            Mtype::try_from(f.mtype).unwrap(),
            f.service_method.clone(),
        );
        m.status = if self.status_query.is_empty() {
            None
        } else {
            Some(Status {
                code: f.status_code,
                msg: f.status_msg.clone(),
                cause: f.status_cause.clone(),
            })
        };
        m.meta = f.meta.iter().cloned().collect::<Meta>();
        m.body_codec = f.body_codec;
        m.body = hex::decode(&f.body_hex).unwrap().into();
        m.xfer = f.xfer.clone();
        m
    }
}

/// `../shared/spec/vectors.json` beside the repository, or `$TELEPORT_SPEC_DIR/vectors.json`.
pub fn spec_path() -> PathBuf {
    match std::env::var_os("TELEPORT_SPEC_DIR") {
        Some(dir) => PathBuf::from(dir).join("vectors.json"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/vectors.json"),
    }
}

pub fn vectors() -> Vec<Vector> {
    let path = spec_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read the reference vectors at {}: {e}; check out shared/ beside the repository or set TELEPORT_SPEC_DIR", path.display())
    });
    let v: Vec<Vector> = serde_json::from_str(&text).expect("vectors.json parses");
    assert!(
        v.len() >= 20,
        "expected the full vector set, found {}",
        v.len()
    );
    v
}
