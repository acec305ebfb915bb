#!/usr/bin/env python3
"""Writes the bad-input corpus of tests/cli_bad_corpus.rs (standard library only).

    python3 tests/data/bad/make_corpus.py      # from the repository root

Every file is deterministic, so re-running the script changes nothing in git
unless the script changed. Each file breaks one thing; the companions in ok/
are valid, so that a case fails because of its one bad file. What each file
is and the error it must give are listed in tests/cli_bad_corpus.rs and in
docs/robustness.md.
"""

import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- .npy


def npy(descr, shape, data, fortran=False, version=(1, 0)):
    """A .npy file as np.save writes it (header padded to 64 bytes)."""
    dims = [str(d) for d in shape]
    tup = "(%s,)" % dims[0] if len(dims) == 1 else "(%s)" % ", ".join(dims)
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", tup)
    h += " " * max(0, 21 - (len(dims[0]) if dims else 21))
    n = 4 if version[0] >= 2 else 2
    h += " " * (64 - (len(h) + 6 + 2 + n + 1) % 64) + "\n"
    head = b"\x93NUMPY" + bytes(version) + (struct.pack("<I", len(h)) if n == 4 else struct.pack("<H", len(h)))
    return head + h.encode() + bytes(data)


def i32(v):
    return b"".join(struct.pack("<i", x) for x in v)


# The valid layer (as tests/cli_sim_layer.rs): 3x3 pad 1, a_in 2, binary
# weights, a_out 2; input 6x5x4, 3 output channels.
SPEC = {"kernel": 3, "stride": 1, "pad": 1, "a_in": 2, "w_bits": 1, "a_out": 2}
X = bytes(i % 4 for i in range(6 * 5 * 4))
W = bytes(1 if i % 3 == 0 else 255 for i in range(3 * 9 * 4))
T = [0, -2, 0, 2, 1, 2, 0, -2, 2 | 3 << 8, 0, 0, 0]

put("ok/layer.json", json.dumps(SPEC) + "\n")
put("ok/x.npy", npy("|u1", [6, 5, 4], X))
put("ok/w.npy", npy("|i1", [3, 3, 3, 4], W))
put("ok/t.npy", npy("<i4", [3, 4], i32(T)))

good_x = npy("|u1", [6, 5, 4], X)
put("npy/text.npy", "x = [[1, 2], [3, 4]]\n")
put("npy/empty.npy", b"")
put("npy/zip.npy", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(20))  # an .npz, not an .npy
put("npy/magic-only.npy", b"\x93NUMPY")
put("npy/version-9.npy", b"\x93NUMPY\x09\x00" + good_x[8:])
put("npy/header-cut.npy", good_x[:40])
put("npy/header-not-a-dict.npy", npy("|u1", [6, 5, 4], X).replace(b"{'descr'", b"['descr'", 1))
put("npy/header-no-newline.npy", good_x[:127] + b" " + good_x[128:])
put("npy/header-unknown-key.npy", good_x.replace(b"'fortran_order'", b"'fortran_ordex'", 1))
put("npy/float32.npy", npy("<f4", [6, 5, 4], struct.pack("<120f", *[float(v) for v in X])))
put("npy/int64.npy", npy("<i8", [6, 5, 4], b"".join(struct.pack("<q", v) for v in X)))
put("npy/big-endian.npy", npy(">i4", [3, 4], b"".join(struct.pack(">i", v) for v in T)))
put("npy/fortran.npy", npy("|u1", [6, 5, 4], X, fortran=True))
put("npy/data-cut.npy", good_x[:-1])
put("npy/trailing.npy", good_x + b"\x00\x00")
put("npy/huge-shape.npy", npy("|u1", [1 << 40, 1 << 40, 1 << 40], b""))
put("npy/negative-dim.npy", npy("|u1", [6, 5, 4], X).replace(b"(6, 5, 4)", b"(-6,5, 4)", 1))
put("npy/input-2d.npy", npy("|u1", [30, 4], X))
put("npy/input-batch-2.npy", npy("|u1", [2, 6, 5, 4], X + X))
put("npy/input-zero-dim.npy", npy("|u1", [0, 5, 4], b""))
put("npy/input-code-4.npy", npy("|u1", [6, 5, 4], X[:37] + b"\x04" + X[38:]))
put("npy/input-3-channels.npy", npy("|u1", [6, 5, 3], X[:90]))
put("npy/weights-uint8.npy", npy("|u1", [3, 3, 3, 4], W))
put("npy/weights-3d.npy", npy("|i1", [3, 9, 4], W))
put("npy/weights-kernel-5.npy", npy("|i1", [3, 5, 5, 4], bytes([1]) * 300))
put("npy/weights-not-binary.npy", npy("|i1", [3, 3, 3, 4], W[:50] + b"\x00" + W[51:]))
put("npy/thresholds-int8.npy", npy("|i1", [3, 4], bytes(12)))
put("npy/thresholds-shape.npy", npy("<i4", [3, 3], i32([0] * 9)))
put("npy/thresholds-unsorted.npy", npy("<i4", [3, 4], i32([0, 1, 0, 2] + [0] * 8)))
put("npy/thresholds-mode-7.npy", npy("<i4", [3, 4], i32([0] * 8 + [7, 0, 0, 0])))
put("npy/thresholds-constant-4.npy", npy("<i4", [3, 4], i32([0] * 8 + [2 | 4 << 8, 0, 0, 0])))

# ---------------------------------------------------------------- spec JSON

def spec(**changes):
    s = dict(SPEC)
    for k, v in changes.items():
        if v is None:
            s.pop(k, None)
        else:
            s[k] = v
    return json.dumps(s) + "\n"


put("spec/empty.json", b"")
put("spec/not-json.json", "kernel: 3\na_in: 2\n")
put("spec/cut.json", '{"kernel": 3, "a_in": 2,')
put("spec/not-utf8.json", b'{"kernel": 3, "a_in": 2, "w_bits": 1, "a_out": 2, "\xff": 1}')
put("spec/array.json", "[3, 1, 1]\n")
put("spec/missing-kernel.json", spec(kernel=None))
put("spec/missing-a_in.json", spec(a_in=None))
put("spec/missing-w_bits.json", spec(w_bits=None))
put("spec/unknown-field.json", spec(strid=1))
put("spec/duplicate-field.json", '{"kernel": 3, "kernel": 3, "pad": 1, "a_in": 2, "w_bits": 1, "a_out": 2}\n')
put("spec/kernel-0.json", spec(kernel=0))
put("spec/kernel-8.json", spec(kernel=8))
put("spec/kernel-3-items.json", spec(kernel=[3, 3, 3]))
put("spec/kernel-string.json", spec(kernel="3"))
put("spec/kernel-float.json", spec(kernel=3.0))
put("spec/stride-3.json", spec(stride=3))
put("spec/stride-negative.json", spec(stride=-1))
put("spec/pad-3.json", spec(pad=3))
put("spec/upsample-4.json", spec(upsample=4))
put("spec/transposed-number.json", spec(transposed=1))
put("spec/transposed-upsample.json", spec(transposed=True, upsample=2))
put("spec/a_in-0.json", spec(a_in=0))
put("spec/a_in-9.json", spec(a_in=9))
put("spec/w_bits-9.json", spec(w_bits=9))
put("spec/a_out-0.json", spec(a_out=0))
put("spec/a_out-huge.json", spec(a_out=2**70))
put("spec/no-a_out.json", spec(a_out=None))  # raw output, yet --thresholds is given

# ---------------------------------------------------------------- frames


def png(w, h, color_type, bit_depth, row_bytes, raw=None):
    """A PNG of w x h: filter 0 rows of `row_bytes` each (a gradient)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    if raw is None:
        raw = b"".join(b"\x00" + bytes((x * 7 + y * 3) & 0xFF for x in range(row_bytes)) for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


rgb64 = png(64, 64, 2, 8, 64 * 3)
put("frames/text.png", "these are notes, not pixels\n")
put("frames/empty.png", b"")
put("frames/jpeg.png", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(64))
put("frames/gif.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
put("frames/signature-only.png", b"\x89PNG\r\n\x1a\n")
put("frames/cut.png", rgb64[: len(rgb64) // 2])
put("frames/bad-crc.png", rgb64[:29] + b"\x00\x00\x00\x00" + rgb64[33:])  # IHDR's CRC zeroed
put("frames/zero-width.png", png(0, 64, 2, 8, 0, raw=b"\x00" * 64))
put("frames/cut.ppm", b"P6\n64 64\n255\n\x01\x02\x03")
put("frames/bad-ppm-header.ppm", b"P6\n64 sixty-four\n255\n" + bytes(64 * 64 * 3))
put("frames/huge.png", png(1 << 20, 1 << 20, 2, 8, 0, raw=b"\x00"))  # a tiny file claiming 2^40 pixels
put("frames/huge.ppm", b"P6\n1048576 1048576\n255\n" + bytes(64))
put("frames/size-16384x64.png", png(16384, 64, 2, 8, 16384 * 3))  # a multiple of 64, beyond the largest size
put("frames/size-100x60.png", png(100, 60, 2, 8, 100 * 3))
put("frames/size-128x64.png", png(128, 64, 2, 8, 128 * 3))
# Not errors: converted to 8-bit RGB, with an info line naming the file.
put("frames/gray.png", png(64, 64, 0, 8, 64))
put("frames/rgba.png", png(64, 64, 6, 8, 64 * 4))
put("frames/rgb16.png", png(64, 64, 2, 16, 64 * 6))
put("ok/frame.png", rgb64)

# ---------------------------------------------------------------- safetensors


def safetensors(tensors, metadata=None, header_extra=None):
    """tensors: [(name, dtype, shape, bytes)] in order; returns the file."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, body in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(body)]}
        data += body
    if header_extra:
        header.update(header_extra)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(v):
    return struct.pack("<%df" % len(v), *v)


META = {"format": "zynqflow-weights", "version": "1", "net": "lmflownets"}
C1 = [64, 24, 3, 3]  # lmflownets conv1.weight, PyTorch order
N1 = 64 * 24 * 9
zeros = [0.0] * N1
nan = zeros[:]
nan[5] = float("nan")
inf = zeros[:]
inf[0] = float("-inf")

put("weights/text.safetensors", '{"conv1.weight": [1, 2, 3]}\n')
put("weights/empty.safetensors", b"")
put("weights/short.safetensors", b"\x10\x00\x00")
put("weights/noise.safetensors", bytes((i * 2654435761 >> 13) & 0xFF for i in range(512)))
put("weights/header-length-huge.safetensors", struct.pack("<Q", 1 << 62) + b"{}")
put("weights/header-past-end.safetensors", struct.pack("<Q", 4096) + b'{"__metadata__":{}}')
put("weights/header-not-json.safetensors", struct.pack("<Q", 16) + b"not json at all!")
put("weights/header-not-utf8.safetensors", struct.pack("<Q", 8) + b"{\"\xff\xfe\":1}")
put("weights/offsets-past-end.safetensors", safetensors([], META, {"conv1.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}))
put("weights/offsets-reversed.safetensors", safetensors([("a", "F32", [1], f32([1.0]))], META, {"conv1.weight": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}))
put("weights/shape-size-mismatch.safetensors", safetensors([("conv1.weight", "F32", [4], f32([1.0, 2.0]))], META))
put("weights/unknown-dtype.safetensors", safetensors([("conv1.weight", "Q4", [2], b"\x00" * 8)], META))
put("weights/data-cut.safetensors", safetensors([("conv1.weight", "F32", C1, f32(zeros))], META)[:4096])
put("weights/wrong-names.safetensors", safetensors([("conv_1.weight", "F32", [2], f32([0.0, 1.0])), ("conv1.kernel", "F32", [1], f32([0.0]))], META))
put("weights/wrong-shape.safetensors", safetensors([("conv1.weight", "F32", [64, 24, 9], f32(zeros))], META))
put("weights/wrong-dtype.safetensors", safetensors([("conv1.weight", "F16", [4], b"\x00" * 8)], META))
put("weights/wrong-net.safetensors", safetensors([("conv1.weight", "F32", [1], f32([0.0]))], dict(META, net="flownets")))
put("weights/wrong-format.safetensors", safetensors([], dict(META, format="pytorch")))
put("weights/nan.safetensors", safetensors([("conv1.weight", "F32", C1, f32(nan))], META))
put("weights/inf.safetensors", safetensors([("conv1.weight", "F32", C1, f32(inf))], META))
put("weights/conv1-only.safetensors", safetensors([("conv1.weight", "F32", C1, f32(zeros))], META))
