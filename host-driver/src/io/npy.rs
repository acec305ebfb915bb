//! NumPy `.npy` array files, strictly: the integer arrays that
//! `zynqflow sim layer` exchanges with numpy / PyTorch code.
//!
//! Layout: the magic `\x93NUMPY`, a version byte pair, the header length
//! (little-endian `u16` for 1.0, `u32` for 2.0 and 3.0), then the header, a
//! Python dict literal such as
//! `{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }` padded with
//! spaces and ending in `\n`, then the elements in C (row-major) order.
//!
//! Read: versions 1.0, 2.0 and 3.0; dtypes `|u1` (uint8), `|i1` (int8) and
//! `<i4` (int32), exactly as numpy spells them; `fortran_order: False` only;
//! the data must be exactly as long as the shape says (checked, with overflow
//! checks, before anything is allocated). Written: version 1.0 (2.0 only if a
//! header were longer than 65535 bytes), byte-identical to numpy's `np.save`
//! (including the spaces numpy reserves so the first axis can grow, and the
//! padding to a 64-byte boundary).
//!
//! Why not a crate: the subset needed is tiny (one dict literal, three
//! dtypes), and the project fuzzes the parsers it owns: every malformed input
//! must be an [`IoError`] naming the file, never a panic or a huge
//! allocation, which is easiest to guarantee (and to fix when a fuzzer finds
//! something) with the whole parser in view here, as for `.flo`.

use std::path::Path;

use super::atomic::write_atomic_as;
use super::error::{read_error, IoError};

/// The six bytes every `.npy` file starts with.
pub const NPY_MAGIC: [u8; 6] = *b"\x93NUMPY";

const KIND: &str = "array file";

/// numpy reserves room in the header for this many digits of the first axis.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The elements of an array, in C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NpyData {
    /// `uint8` (`|u1`).
    U8(Vec<u8>),
    /// `int8` (`|i1`).
    I8(Vec<i8>),
    /// Little-endian `int32` (`<i4`).
    I32(Vec<i32>),
}

impl NpyData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            NpyData::U8(v) => v.len(),
            NpyData::I8(v) => v.len(),
            NpyData::I32(v) => v.len(),
        }
    }

    /// True if there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// numpy's name of the element type (`uint8`, `int8`, `int32`).
    pub fn dtype_name(&self) -> &'static str {
        self.dtype().name()
    }

    fn dtype(&self) -> Dtype {
        match self {
            NpyData::U8(_) => U8,
            NpyData::I8(_) => I8,
            NpyData::I32(_) => I32,
        }
    }
}

/// An n-dimensional array in C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Npy {
    /// Extent of each axis (empty for a scalar).
    pub shape: Vec<usize>,
    /// `shape.iter().product()` elements.
    pub data: NpyData,
}

impl Npy {
    /// The shape as Python prints a tuple: `()`, `(5,)`, `(2, 3)`.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }
}

/// An element type this module reads and writes: numpy's `descr`, numpy's
/// name, the size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dtype(&'static str, &'static str, usize);

const U8: Dtype = Dtype("|u1", "uint8", 1);
const I8: Dtype = Dtype("|i1", "int8", 1);
const I32: Dtype = Dtype("<i4", "int32", 4);

impl Dtype {
    fn descr(self) -> &'static str {
        self.0
    }

    fn name(self) -> &'static str {
        self.1
    }

    fn size(self) -> usize {
        self.2
    }
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// Encodes an array as the bytes `np.save` would write for it.
///
/// # Panics
/// If the number of elements differs from the product of the shape.
pub fn encode_npy(a: &Npy) -> Vec<u8> {
    let count = a.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    assert_eq!(count, Some(a.data.len()), "encode_npy: shape {} and {} elements", a.shape_text(), a.data.len());
    let mut dict =
        format!("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", a.data.dtype().descr(), a.shape_text());
    if let Some(first) = a.shape.first() {
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.to_string().len())));
    }
    // Pad so that magic + version + length + header is a multiple of 64.
    let header = |len_bytes: usize| {
        let pad = 64 - (6 + 2 + len_bytes + dict.len() + 1) % 64;
        format!("{dict}{}\n", " ".repeat(pad))
    };
    let mut out = NPY_MAGIC.to_vec();
    let h1 = header(2);
    match u16::try_from(h1.len()) {
        Ok(n) => {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(h1.as_bytes());
        }
        Err(_) => {
            let h2 = header(4);
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&(h2.len() as u32).to_le_bytes());
            out.extend_from_slice(h2.as_bytes());
        }
    }
    match &a.data {
        NpyData::U8(v) => out.extend_from_slice(v),
        NpyData::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        NpyData::I32(v) => out.extend(v.iter().flat_map(|x| x.to_le_bytes())),
    }
    out
}

/// Decodes the bytes of a `.npy` file; `path` is only used in error messages.
pub fn decode_npy(bytes: &[u8], path: &Path) -> Result<Npy, IoError> {
    let bad = |problem: String| IoError::BadNpy { path: path.to_path_buf(), problem };
    let n = bytes.len();
    if n < 6 || bytes[..6] != NPY_MAGIC {
        let found = bytes[..n.min(6)].escape_ascii();
        return Err(bad(format!("not a .npy file (starts with \"{found}\", not \"\\x93NUMPY\")")));
    }
    if n < 8 {
        return Err(bad(format!("truncated: {n} bytes, no format version")));
    }
    let len_bytes = match (bytes[6], bytes[7]) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        (ma, mi) => return Err(bad(format!("format version {ma}.{mi} is not supported (1.0, 2.0 or 3.0)"))),
    };
    let start = 8 + len_bytes;
    if n < start {
        return Err(bad(format!("truncated: {n} bytes, no header length")));
    }
    let hlen = bytes[8..start].iter().rev().fold(0usize, |acc, &b| acc << 8 | usize::from(b));
    if n - start < hlen {
        return Err(bad(format!("truncated: header of {hlen} bytes, {} left in the file", n - start)));
    }
    let end = start + hlen;
    let header = std::str::from_utf8(&bytes[start..end])
        .ok()
        .filter(|h| h.is_ascii())
        .ok_or_else(|| bad("header is not ASCII text".into()))?;
    let (dtype, shape) = parse_header(header).map_err(|p| bad(format!("bad header: {p}")))?;
    let need = shape.iter().try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
    let need = need.ok_or_else(|| bad(format!("shape {} is too large", shape_text(&shape))))?;
    let have = n - end;
    let what = format!("{} {}", shape_text(&shape), dtype.name());
    if have < need {
        return Err(bad(format!("truncated: shape {what} needs {need} data bytes, the file has {have}")));
    }
    if have > need {
        return Err(bad(format!("{} trailing bytes after the data of shape {what}", have - need)));
    }
    let raw = &bytes[end..];
    let data = match dtype {
        U8 => NpyData::U8(raw.to_vec()),
        I8 => NpyData::I8(raw.iter().map(|&b| b as i8).collect()),
        _ => NpyData::I32(raw.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
    };
    Ok(Npy { shape, data })
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Npy, IoError> {
    let bytes = std::fs::read(path).map_err(|e| read_error(KIND, path, e))?;
    decode_npy(&bytes, path)
}

/// Writes `a` to `path` as a `.npy` file (version 1.0), atomically.
///
/// # Panics
/// As [`encode_npy`].
pub fn write_npy(path: &Path, a: &Npy) -> Result<(), IoError> {
    write_atomic_as(KIND, path, &encode_npy(a))
}

/// A cursor over the header text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8, context: &str) -> Result<(), String> {
        if self.eat(c) {
            return Ok(());
        }
        let found = self.s.get(self.i).map_or("the end".to_string(), |b| format!("'{}'", b.escape_ascii()));
        Err(format!("expected '{}' {context}, found {found}", c as char))
    }

    fn word(&mut self) -> &str {
        self.ws();
        let from = self.i;
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_alphanumeric() || b"_-+.".contains(b)) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[from..self.i]).expect("ASCII")
    }

    /// A quoted string without escapes.
    fn string(&mut self, context: &str) -> Result<String, String> {
        self.ws();
        let q = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string {context}")),
        };
        let from = self.i + 1;
        let len = self.s[from..].iter().position(|&b| b == q || b == b'\\' || b == b'\n');
        match len.map(|l| (l, self.s[from + l])) {
            Some((l, b)) if b == q => {
                self.i = from + l + 1;
                Ok(String::from_utf8_lossy(&self.s[from..from + l]).into_owned())
            }
            _ => Err(format!("unterminated or escaped string {context}")),
        }
    }

    /// A shape tuple: `()`, `(5,)`, `(2, 3)`, `(2, 3,)`.
    fn shape(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(', "to open the shape")?;
        let (mut dims, mut comma) = (Vec::new(), false);
        while !self.eat(b')') {
            if !dims.is_empty() && !comma {
                return Err("expected ',' between shape dimensions".into());
            }
            let digits = self.word();
            let d = match digits.as_bytes() {
                [b'0'] => Some(0),
                [b'1'..=b'9', ..] if digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse::<usize>().ok(),
                _ => return Err(format!("shape dimension '{digits}' is not a non-negative integer")),
            };
            dims.push(d.ok_or_else(|| format!("shape dimension {digits} is too large"))?);
            comma = self.eat(b',');
        }
        if dims.len() == 1 && !comma {
            return Err(format!("shape ({}) is not a tuple (a 1-d shape is written ({},))", dims[0], dims[0]));
        }
        Ok(dims)
    }
}

/// numpy's name for dtypes users are likely to save by mistake.
fn dtype_hint(descr: &str) -> String {
    let known = [("i8", "int64"), ("i2", "int16"), ("u2", "uint16"), ("u4", "uint32"), ("u8", "uint64")];
    let more = [("f2", "float16"), ("f4", "float32"), ("f8", "float64"), ("b1", "bool")];
    let short = descr.trim_start_matches(['<', '|', '=']);
    match known.iter().chain(&more).find(|(d, _)| *d == short) {
        Some((_, name)) => format!(" ({name})"),
        None if descr.starts_with('>') => " (big-endian)".into(),
        None => String::new(),
    }
}

/// Parses the header dict: the dtype and the shape.
fn parse_header(h: &str) -> Result<(Dtype, Vec<usize>), String> {
    if !h.ends_with('\n') {
        return Err("it does not end with a newline".into());
    }
    let mut c = Cursor { s: h.as_bytes(), i: 0 };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    c.expect(b'{', "at the start")?;
    while !c.eat(b'}') {
        let key = c.string("as a key")?;
        c.expect(b':', &format!("after '{key}'"))?;
        let dup = match key.as_str() {
            "descr" => descr.replace(c.string("as the descr")?).is_some(),
            "fortran_order" => fortran.replace(c.word().to_string()).is_some(),
            "shape" => shape.replace(c.shape()?).is_some(),
            _ => return Err(format!("unknown key '{key}'")),
        };
        if dup {
            return Err(format!("key '{key}' appears twice"));
        }
        if !c.eat(b',') {
            c.expect(b'}', "after a value")?;
            break;
        }
    }
    c.ws();
    if c.i != h.len() {
        return Err("text after the dictionary".into());
    }
    let missing = |k: &str| format!("no '{k}' key");
    let (descr, fortran, shape) = (
        descr.ok_or_else(|| missing("descr"))?,
        fortran.ok_or_else(|| missing("fortran_order"))?,
        shape.ok_or_else(|| missing("shape"))?,
    );
    match fortran.as_str() {
        "False" => {}
        "True" => {
            return Err(
                "fortran_order is True (column-major), only C order is supported: save np.ascontiguousarray(a)".into()
            )
        }
        other => return Err(format!("fortran_order '{other}' is not True or False")),
    }
    let dtype = [U8, I8, I32].into_iter().find(|d| d.descr() == descr).ok_or_else(|| {
        format!(
            "dtype '{descr}'{} is not supported: use uint8 ('|u1'), int8 ('|i1') or int32 ('<i4')",
            dtype_hint(&descr)
        )
    })?;
    Ok((dtype, shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("a.npy")
    }

    /// A header exactly as numpy writes it: `dict`, spaces, `\n`, `total` bytes in all.
    fn numpy_header(dict: &str, total: usize) -> Vec<u8> {
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&((total - 10) as u16).to_le_bytes());
        v.extend_from_slice(dict.as_bytes());
        v.resize(total - 1, b' ');
        v.push(b'\n');
        v
    }

    fn err(bytes: &[u8]) -> String {
        let e = decode_npy(bytes, p()).unwrap_err().to_string();
        assert!(e.starts_with("array file 'a.npy': ") && !e.contains('\n'), "{e}");
        e
    }

    #[test]
    fn encodes_byte_for_byte_as_numpy_and_round_trips() {
        // np.save of np.arange(6, dtype=np.uint8).reshape(2, 3), np.array([-1, 2], np.int8),
        // np.array(7, np.int32), np.array([0, 1, 2, -1], np.int32).reshape(1, 2, 2, 1) and
        // np.zeros(0, np.uint8), byte for byte as numpy 1.2x-2.x writes them (checked with 2.4).
        let u8s = |v: Vec<u8>| NpyData::U8(v);
        let cases = [
            (vec![2, 3], u8s(vec![0, 1, 2, 3, 4, 5]), "|u1", "(2, 3)", vec![0, 1, 2, 3, 4, 5]),
            (vec![2], NpyData::I8(vec![-1, 2]), "|i1", "(2,)", vec![255, 2]),
            (vec![], NpyData::I32(vec![7]), "<i4", "()", vec![7, 0, 0, 0]),
            (
                vec![1, 2, 2, 1],
                NpyData::I32(vec![0, 1, 2, -1]),
                "<i4",
                "(1, 2, 2, 1)",
                [0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 255, 255, 255, 255].to_vec(),
            ),
            (vec![0], u8s(vec![]), "|u1", "(0,)", vec![]),
        ];
        for (shape, data, descr, tuple, bytes) in cases {
            let a = Npy { shape, data };
            let want = [
                numpy_header(&format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}"), 128),
                bytes,
            ]
            .concat();
            assert_eq!(encode_npy(&a).escape_ascii().to_string(), want.escape_ascii().to_string());
            assert_eq!(decode_npy(&want, p()).unwrap(), a);
        }
        // A header too long for version 1.0 is written as 2.0, and read back.
        let a = Npy { shape: vec![1; 30_000], data: NpyData::I8(vec![-5]) };
        let b = encode_npy(&a);
        assert_eq!(&b[6..8], &[2, 0]);
        assert_eq!((12 + u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize) % 64, 0);
        assert_eq!(decode_npy(&b, p()).unwrap(), a);
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x.npy");
        let a = Npy { shape: vec![3, 1, 2], data: NpyData::I32(vec![i32::MIN, -1, 0, 1, 2, i32::MAX]) };
        write_npy(&f, &a).unwrap();
        assert_eq!(read_npy(&f).unwrap(), a);
        assert_eq!(
            read_npy(&d.path().join("no.npy")).unwrap_err().to_string(),
            format!("array file '{}': no such file", d.path().join("no.npy").display())
        );
    }

    #[test]
    fn reads_other_versions_spacings_and_shape_spellings() {
        for (prefix, dict) in [
            (&b"\x93NUMPY\x02\x00"[..], "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }"),
            (b"\x93NUMPY\x03\x00", "{\"shape\":(3,),\"descr\":\"|i1\",\"fortran_order\":False}"),
            (b"\x93NUMPY\x02\x00", "{ 'descr' : '|i1' , 'fortran_order' : False , 'shape' : ( 3 , ) }"),
        ] {
            let mut b = prefix.to_vec();
            b.extend_from_slice(&(dict.len() as u32 + 2).to_le_bytes());
            b.extend_from_slice(dict.as_bytes());
            b.extend_from_slice(b" \n\x00\x01\x02");
            assert_eq!(
                decode_npy(&b, p()).unwrap(),
                Npy { shape: vec![3], data: NpyData::I8(vec![0, 1, 2]) },
                "{dict}"
            );
        }
        // Old numpy aligned headers to 16 bytes; trailing commas in shapes.
        for (shape, dims) in [("(2, 1,)", vec![2, 1]), ("()", vec![]), ("(1,1,1,2)", vec![1, 1, 1, 2])] {
            let mut b = numpy_header(&format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"), 80);
            b.extend_from_slice(&[9, 8][..dims.iter().product::<usize>()]);
            assert_eq!(decode_npy(&b, p()).unwrap().shape, dims, "{shape}");
        }
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        let dict = |d: &str, s: &str| format!("{{'descr': '{d}', 'fortran_order': False, 'shape': {s}, }}");
        let file = |h: &str, data: &[u8]| [numpy_header(h, 128), data.to_vec()].concat();
        let good = file(&dict("<i4", "(2,)"), &[1, 0, 0, 0, 2, 0, 0, 0]);
        for (bytes, want) in [
            (b"PK\x03\x04\x14\x00\x00\x00".to_vec(), "not a .npy file (starts with \"PK\\x03\\x04\\x14\\x00\""),
            (b"\x93NUMPY\x04\x00\x10\x00".to_vec(), "format version 4.0"),
            (good[..good.len() - 1].to_vec(), "truncated: shape (2,) int32 needs 8 data bytes, the file has 7"),
            ([&good[..], &[0]].concat(), "1 trailing bytes"),
            (file(&dict("<i4", "(2,)").replace("False", "True"), &[0; 8]), "fortran_order is True"),
            (file(&dict("<f4", "(2,)"), &[0; 8]), "dtype '<f4' (float32) is not supported"),
            (file(&dict("<i8", "(1,)"), &[0; 8]), "(int64)"),
            (file(&dict("<u1", "(1,)"), &[0]), "dtype '<u1' is not supported"),
            (file(&dict("|u1", "(4294967296, 4294967296)"), &[0]), "shape (4294967296, 4294967296) is too large"),
            (file(&dict("|u1", "(99999999999999999999999,)"), &[0]), "too large"),
            (file(&dict("<i4", "(4611686018427387904,)"), &[0]), "too large"),
            (file(&dict("|u1", "(1152921504606846976,)"), &[0]), "needs 1152921504606846976 data bytes"),
            (file(&dict("|u1", "(3)"), &[0; 3]), "shape (3) is not a tuple"),
            (file(&dict("|u1", "(-1,)"), &[0]), "'-1' is not a non-negative integer"),
            (file(&dict("|u1", "(1 2)"), &[0; 2]), "expected ','"),
            (file(&dict("|u1", "(1,)").replace("'shape'", "'shape', 'shape'"), &[0]), "expected ':'"),
            (file("{'descr': '|u1', 'fortran_order': False}", &[]), "no 'shape' key"),
            (file(&dict("|u1", "(1,)").replace("}", "'x': 1}"), &[0]), "unknown key 'x'"),
            (
                file("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}", &[0]),
                "'shape' appears twice",
            ),
            (file(&format!("{} x", dict("|u1", "(1,)")), &[0]), "text after the dictionary"),
            (file("{'descr': '|u1\\', 'fortran_order': False, 'shape': (1,)}", &[0]), "escaped string"),
            (numpy_header(&dict("|u1", "()"), 128)[..127].to_vec(), "truncated: header of 118 bytes, 117 left"),
            ([&numpy_header(&dict("|u1", "()"), 128)[..127], b"x\x00"].concat(), "does not end with a newline"),
            (file(&dict("|u1", "(\u{e9},)"), &[0]), "not ASCII"),
        ] {
            let e = err(&bytes);
            assert!(e.contains(want), "{e} lacks {want:?}");
        }
        // Every truncation and every single-byte corruption of a valid file:
        // an error or a (different) array, never a panic.
        for n in 0..good.len() {
            err(&good[..n]);
        }
        for i in 0..good.len() {
            for v in [0u8, b' ', b'(', b')', b',', b'\'', b'9', 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = decode_npy(&b, p());
            }
        }
    }

    /// What every decoded result must satisfy: an error of one line naming
    /// the file, or an array whose data matches its shape and round-trips.
    fn check_decoded(b: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prelude::*;
        match decode_npy(b, p()) {
            Ok(a) => {
                prop_assert_eq!(Some(a.data.len()), a.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)));
                prop_assert_eq!(decode_npy(&encode_npy(&a), p()).ok(), Some(a));
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.starts_with("array file 'a.npy': ") && !m.contains('\n'), "{}", m);
            }
        }
        Ok(())
    }

    /// Header text from the pieces numpy writes and the mistakes people
    /// make: keys, dtypes, booleans and shapes shuffled, dropped, repeated,
    /// or the three keys numpy writes with valid values in any order. Also
    /// the data length the header asks for, when it can be told.
    fn header_like() -> impl proptest::strategy::Strategy<Value = (Vec<u8>, usize)> {
        use proptest::prelude::*;
        let sel = |v: &[&'static str]| prop::sample::select(v.to_vec());
        let key = sel(&["'descr'", "'fortran_order'", "'shape'", "\"shape\"", "'x'", "descr", "'descr"]);
        let dim = prop_oneof![0usize..5, any::<usize>()].prop_map(|d| d.to_string());
        let shape = (
            prop::collection::vec(
                prop_oneof![dim, sel(&["-1", "", " ", "1.0", "99999999999999999999999"]).prop_map(String::from)],
                0..5,
            ),
            sel(&["", ",", ", ", ",,"]),
        )
            .prop_map(|(d, end)| format!("({}{end})", d.join(", ")));
        let value = prop_oneof![
            sel(&["'|u1'", "'|i1'", "'<i4'", "'<f4'", "'>i4'", "'|u1", "'\\'", "False", "True", "0", "None"])
                .prop_map(String::from),
            shape
        ];
        let item = (key, sel(&[": ", ":", " : ", " "]), value).prop_map(|(k, c, v)| format!("{k}{c}{v}"));
        let random = prop::collection::vec(item, 0..5).prop_map(|items| (items, 0));
        let dtype = prop_oneof![4 => sel(&["|u1", "|i1", "<i4"]), 1 => sel(&["<f4", "<u1", "i4"])];
        let dims = prop::collection::vec(0usize..4, 0..5);
        let valid = (
            dtype,
            prop_oneof![8 => Just("False"), 1 => Just("True")],
            dims,
            sel(&["'", "\""]),
            prop::sample::select(vec![[0usize, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]),
        )
            .prop_map(|(d, f, dims, q, order)| {
                let size = if d == "<i4" { 4 } else { 1 };
                let tuple = match dims.len() {
                    1 => format!("({},)", dims[0]),
                    _ => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
                };
                let kv = [
                    format!("{q}descr{q}: {q}{d}{q}"),
                    format!("{q}fortran_order{q}: {f}"),
                    format!("{q}shape{q}: {tuple}"),
                ];
                (order.iter().map(|&i| kv[i].clone()).collect(), dims.iter().product::<usize>() * size)
            });
        let items = prop_oneof![1 => random, 2 => valid];
        (
            sel(&["{", "{", "{", "", "[", "{{"]),
            items,
            sel(&[", ", ","]),
            sel(&["}", ", }", "}", "", "}}", "} x"]),
            0usize..80,
            sel(&["\n", "\n", "", " \n", "\n\n"]),
        )
            .prop_map(|(open, (items, need), sep, close, pad, end)| {
                (format!("{open}{}{close}{}{end}", items.join(sep), " ".repeat(pad)).into_bytes(), need)
            })
    }

    /// Fuzz target: arbitrary bytes, and `.npy`-like files (a magic, a
    /// version, a header length and a header from [`header_like`], some
    /// data): never a panic, only errors or consistent arrays.
    #[test]
    fn fuzz_npy_decode() {
        use proptest::prelude::*;
        let version = prop_oneof![4 => prop::sample::select(vec![[1u8, 0], [2, 0], [3, 0]]), 1 => any::<[u8; 2]>()];
        let len_fix = prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(Some)];
        let data = prop_oneof![Just(None), prop::collection::vec(any::<u8>(), 0..48).prop_map(Some)];
        let npy_like =
            (version, header_like(), len_fix, data, any::<u8>()).prop_map(|(v, (h, need), len, data, fill)| {
                let data = data.unwrap_or_else(|| vec![fill; need]);
                let mut b = NPY_MAGIC.to_vec();
                b.extend_from_slice(&v);
                let n = len.unwrap_or(h.len() as u32);
                if v[0] == 1 {
                    b.extend_from_slice(&(n as u16).to_le_bytes());
                } else {
                    b.extend_from_slice(&n.to_le_bytes());
                }
                b.extend_from_slice(&h);
                b.extend_from_slice(&data);
                b
            });
        let bytes = prop_oneof![1 => prop::collection::vec(any::<u8>(), 0..64), 4 => npy_like];
        crate::fuzz::fuzz("npy_decode", bytes, |b| check_decoded(&b));
    }

    /// Fuzz target: valid arrays of every dtype and up to four axes,
    /// encoded as numpy does, then mutated (bytes overwritten, inserted,
    /// deleted, the file truncated).
    #[test]
    fn fuzz_npy_mutated() {
        use proptest::prelude::*;
        let array = (prop::collection::vec(0usize..4, 0..5), 0u8..3, any::<u64>()).prop_map(|(shape, kind, seed)| {
            let n: usize = shape.iter().product();
            let v = |i: usize| seed.wrapping_mul(i as u64 + 1).rotate_left(i as u32 % 64);
            let data = match kind {
                0 => NpyData::U8((0..n).map(|i| v(i) as u8).collect()),
                1 => NpyData::I8((0..n).map(|i| v(i) as i8).collect()),
                _ => NpyData::I32((0..n).map(|i| v(i) as i32).collect()),
            };
            Npy { shape, data }
        });
        crate::fuzz::fuzz("npy_mutated", (array, crate::fuzz::edits(6)), |(a, (edits, cut))| {
            let good = encode_npy(&a);
            prop_assert_eq!(decode_npy(&good, p()).ok(), Some(a));
            check_decoded(&crate::fuzz::mutate(good, &edits, cut))
        });
    }
}
