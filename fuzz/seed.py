#!/usr/bin/env python3
"""Write the fuzz seed corpora from the Go reference frames.

Usage: python3 fuzz/seed.py [path/to/vectors.json]
(default: ../shared/spec/vectors.json beside the repository, or
$TELEPORT_SPEC_DIR/vectors.json). Files go to fuzz/corpus/<target>/.
"""
import hashlib
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("TELEPORT_SPEC_DIR", os.path.join(here, "..", "..", "shared", "spec")),
    "vectors.json")
vectors = json.load(open(spec))


def put(target, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


frames = [bytes.fromhex(v["hex"]) for v in vectors]
for v, frame in zip(vectors, frames):
    put("frame_decode", frame)
    put("frame_roundtrip", frame)
    put("conn_ops", frame)
    status = v.get("status_query", "").encode()
    meta = v.get("meta_query", "").encode()
    put("meta_status", status + meta if len(status) == len(meta) else
        status.ljust(max(len(status), len(meta)), b"&") + meta.ljust(max(len(status), len(meta)), b"&"))
    method = v["fields"]["service_method"].encode()
    put("router", b"\x00" + method)
    put("router", b"\x03" + method.upper())
    # xfer_unpack: [pipe length, limit lo, limit hi, pipe ids..., payload]
    n = frame[4] if len(frame) > 4 else 0
    pipe, payload = frame[5:5 + n], frame[5 + n:]
    put("xfer_unpack", bytes([n, 0xff, 0xff]) + pipe + payload)
put("frame_decode", b"".join(frames))
print(f"seeded {len(frames)} frames into {os.path.join(here, 'corpus')}")
