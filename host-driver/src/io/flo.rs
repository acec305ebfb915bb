//! Middlebury `.flo` optical-flow files and the [`Flow`] field type.
//!
//! Layout, all little-endian: the float 202021.25 (bytes "PIEH"), an `i32`
//! width, an `i32` height, then for each pixel in row-major order the pair
//! (u, v) as `f32`: u is the horizontal displacement (towards +x, the right),
//! v the vertical one (towards +y, down).

use std::path::Path;

use super::atomic::write_atomic_as;
use super::error::{read_error, IoError};
use crate::tensor::FTensor;

/// The four bytes every `.flo` file starts with (202021.25 as a LE `f32`).
pub const FLO_MAGIC: [u8; 4] = *b"PIEH";

/// Largest number of pixels [`decode_flo`] accepts (2^28).
pub const MAX_FLO_PIXELS: u64 = 1 << 28;

const KIND: &str = "flow file";

/// A dense flow field: pixel (x, y) of the first frame moves to (x+u, y+v)
/// in the second (Middlebury convention).
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// `2·h·w` values: for each pixel in row-major order, u then v.
    pub data: Vec<f32>,
}

impl Flow {
    /// A zero flow field.
    pub fn zeros(h: usize, w: usize) -> Self {
        Flow { h, w, data: vec![0.0; 2 * h * w] }
    }

    /// Wraps existing interleaved (u, v) data; panics if the length is not `2·h·w`.
    pub fn from_vec(h: usize, w: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), 2 * h * w, "Flow data length");
        Flow { h, w, data }
    }

    /// The (u, v) displacement of pixel (y, x).
    #[inline]
    pub fn get(&self, y: usize, x: usize) -> (f32, f32) {
        let i = 2 * (y * self.w + x);
        (self.data[i], self.data[i + 1])
    }

    /// Sets the (u, v) displacement of pixel (y, x).
    #[inline]
    pub fn set(&mut self, y: usize, x: usize, u: f32, v: f32) {
        let i = 2 * (y * self.w + x);
        self.data[i] = u;
        self.data[i + 1] = v;
    }

    /// Takes a 2-channel tensor (channel 0 = u, channel 1 = v).
    ///
    /// # Panics
    /// If `t.c != 2`.
    pub fn from_ftensor(t: &FTensor) -> Self {
        assert_eq!(t.c, 2, "a flow tensor has 2 channels (u, v), this one has {}", t.c);
        Flow::from_vec(t.h, t.w, t.data.clone())
    }

    /// The field as a 2-channel tensor (channel 0 = u, channel 1 = v).
    pub fn to_ftensor(&self) -> FTensor {
        FTensor::from_vec(self.h, self.w, 2, self.data.clone())
    }
}

/// Encodes a flow field as the bytes of a `.flo` file.
///
/// # Panics
/// If a dimension does not fit in an `i32`.
pub fn encode_flo(flow: &Flow) -> Vec<u8> {
    let w = i32::try_from(flow.w).expect(".flo width must fit in an i32");
    let h = i32::try_from(flow.h).expect(".flo height must fit in an i32");
    let mut out = Vec::with_capacity(12 + 4 * flow.data.len());
    out.extend_from_slice(&FLO_MAGIC);
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    for v in &flow.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes the bytes of a `.flo` file; `path` is only used in error messages.
///
/// Checks the magic, that both dimensions are positive, that there are at
/// most [`MAX_FLO_PIXELS`] pixels and that the length is exactly
/// `12 + 8·w·h`, all before allocating the field.
pub fn decode_flo(bytes: &[u8], path: &Path) -> Result<Flow, IoError> {
    let bad = |problem: String| IoError::BadFlo { path: path.to_path_buf(), problem };
    if bytes.len() < 4 || bytes[..4] != FLO_MAGIC {
        return Err(IoError::BadMagic { path: path.to_path_buf(), found: bytes[..bytes.len().min(4)].to_vec() });
    }
    if bytes.len() < 12 {
        return Err(bad(format!("truncated header ({} bytes, need 12)", bytes.len())));
    }
    let word = |i: usize| i32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (w, h) = (word(4), word(8));
    if w <= 0 || h <= 0 {
        return Err(bad(format!("invalid dimensions {w}x{h}")));
    }
    let pixels = w as u64 * h as u64;
    if pixels > MAX_FLO_PIXELS {
        return Err(bad(format!("dimensions {w}x{h} are too large ({pixels} pixels, at most {MAX_FLO_PIXELS})")));
    }
    let expected = 12 + 8 * pixels;
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(bad(format!("truncated: {actual} bytes, {w}x{h} needs {expected}")));
    }
    if actual > expected {
        return Err(bad(format!("{} trailing bytes after the {w}x{h} field", actual - expected)));
    }
    let data = bytes[12..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(Flow { h: h as usize, w: w as usize, data })
}

/// Writes `flow` to `path` as a `.flo` file, atomically.
pub fn write_flo(path: &Path, flow: &Flow) -> Result<(), IoError> {
    write_atomic_as(KIND, path, &encode_flo(flow))
}

/// Reads a `.flo` file.
pub fn read_flo(path: &Path) -> Result<Flow, IoError> {
    let bytes = std::fs::read(path).map_err(|e| read_error(KIND, path, e))?;
    decode_flo(&bytes, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(h: usize, w: usize) -> Flow {
        let data = (0..2 * h * w).map(|i| (i as f32 * 0.37).sin() * 10.0 - 1.5).collect();
        Flow::from_vec(h, w, data)
    }

    #[test]
    fn magic_is_the_middlebury_float() {
        assert_eq!(202021.25f32.to_le_bytes(), FLO_MAGIC);
    }

    #[test]
    fn round_trip_through_bytes_and_file() {
        let mut f = sample(3, 5);
        f.set(1, 2, f32::NAN, f32::INFINITY);
        let bytes = encode_flo(&f);
        assert_eq!(bytes.len(), 12 + 8 * 15);
        assert_eq!(&bytes[4..12], &[5, 0, 0, 0, 3, 0, 0, 0]);
        // Pixel (0, 1): u at byte 12 + 8, v at byte 12 + 12.
        assert_eq!(&bytes[20..24], &f.get(0, 1).0.to_le_bytes());
        let back = decode_flo(&bytes, Path::new("m.flo")).unwrap();
        assert_eq!((back.h, back.w), (3, 5));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.data), bits(&f.data));

        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.flo");
        let g = sample(4, 2);
        write_flo(&p, &g).unwrap();
        assert_eq!(read_flo(&p).unwrap(), g);
    }

    #[test]
    fn truncated_and_overlong_files_are_rejected() {
        let bytes = encode_flo(&sample(2, 2));
        let p = Path::new("t.flo");
        for cut in [8, 11, 12, bytes.len() - 1] {
            let e = decode_flo(&bytes[..cut], p).unwrap_err();
            assert!(matches!(e, IoError::BadFlo { .. }), "cut {cut}: {e:?}");
            assert!(e.to_string().starts_with("flow file 't.flo': truncated"), "{e}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_flo(&long, p).unwrap_err().to_string().contains("trailing"));
    }

    #[test]
    fn bad_magic_is_rejected() {
        let mut bytes = encode_flo(&sample(1, 1));
        bytes[0] = b'Q';
        let e = decode_flo(&bytes, Path::new("x.flo")).unwrap_err();
        assert!(matches!(e, IoError::BadMagic { .. }));
        assert!(e.to_string().starts_with("flow file 'x.flo': bad magic"), "{e}");
        assert!(matches!(decode_flo(b"PI", Path::new("x.flo")), Err(IoError::BadMagic { .. })));
    }

    #[test]
    fn absurd_and_invalid_dimensions_are_rejected_before_allocating() {
        let header = |w: i32, h: i32| {
            let mut b = FLO_MAGIC.to_vec();
            b.extend_from_slice(&w.to_le_bytes());
            b.extend_from_slice(&h.to_le_bytes());
            b
        };
        // 2^30 pixels would need 8 GiB; only the 12-byte header is present.
        let e = decode_flo(&header(1 << 15, 1 << 15), Path::new("h.flo")).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        let e = decode_flo(&header(i32::MAX, i32::MAX), Path::new("h.flo")).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        for (w, h) in [(0, 4), (4, -1)] {
            let e = decode_flo(&header(w, h), Path::new("h.flo")).unwrap_err();
            assert!(e.to_string().contains("invalid dimensions"), "{e}");
        }
    }

    #[test]
    fn missing_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("none.flo");
        let e = read_flo(&p).unwrap_err();
        assert!(matches!(e, IoError::NotFound { .. }));
        assert!(e.to_string().ends_with("none.flo': no such file"), "{e}");
    }

    #[test]
    fn ftensor_conversion_keeps_u_then_v() {
        let f = sample(2, 3);
        let t = f.to_ftensor();
        assert_eq!((t.h, t.w, t.c), (2, 3, 2));
        assert_eq!(t.at(1, 2, 0), f.get(1, 2).0);
        assert_eq!(t.at(1, 2, 1), f.get(1, 2).1);
        assert_eq!(Flow::from_ftensor(&t), f);
    }

    /// A `.flo` strategy: mostly a right magic and small dimensions, with
    /// any number of data bytes near the right one.
    fn flo_like() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let dim = prop_oneof![-2i32..6, any::<i32>()];
        let magic = prop_oneof![4 => Just(FLO_MAGIC.to_vec()), 1 => prop::collection::vec(any::<u8>(), 0..5)];
        (magic, dim.clone(), dim, 0usize..400, any::<u8>()).prop_map(|(m, w, h, n, fill)| {
            let mut b = m;
            b.extend_from_slice(&w.to_le_bytes());
            b.extend_from_slice(&h.to_le_bytes());
            b.extend((0..n).map(|i| fill.wrapping_add(i as u8)));
            b
        })
    }

    /// Fuzz target: arbitrary and `.flo`-like bytes decode to an error or
    /// to a field that encodes back to exactly the same bytes.
    #[test]
    fn fuzz_flo_decode() {
        use proptest::prelude::*;
        let bytes = prop_oneof![prop::collection::vec(any::<u8>(), 0..64), flo_like()];
        crate::fuzz::fuzz("flo_decode", bytes, |b| {
            match decode_flo(&b, Path::new("f.flo")) {
                Ok(f) => {
                    prop_assert_eq!(f.data.len(), 2 * f.w * f.h);
                    prop_assert_eq!(encode_flo(&f), b);
                }
                Err(e) => {
                    let m = e.to_string();
                    prop_assert!(m.starts_with("flow file 'f.flo': ") && !m.contains('\n'), "{}", m);
                }
            }
            Ok(())
        });
    }

    /// Fuzz target: valid `.flo` files of random fields, then overwritten,
    /// inserted, deleted bytes and truncation: an error or an exact round trip.
    #[test]
    fn fuzz_flo_mutated() {
        use proptest::prelude::*;
        let field = (1usize..6, 1usize..6).prop_flat_map(|(h, w)| {
            prop::collection::vec(any::<u32>().prop_map(f32::from_bits), 2 * h * w)
                .prop_map(move |d| Flow::from_vec(h, w, d))
        });
        crate::fuzz::fuzz("flo_mutated", (field, crate::fuzz::edits(6)), |(f, (edits, cut))| {
            let good = encode_flo(&f);
            let back = decode_flo(&good, Path::new("f.flo")).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(encode_flo(&back), good.clone());
            let b = crate::fuzz::mutate(good, &edits, cut);
            if let Ok(g) = decode_flo(&b, Path::new("f.flo")) {
                prop_assert_eq!(encode_flo(&g), b);
            }
            Ok(())
        });
    }

    #[test]
    #[should_panic(expected = "2 channels")]
    fn ftensor_with_wrong_channel_count_panics() {
        Flow::from_ftensor(&FTensor::zeros(2, 2, 3));
    }
}
