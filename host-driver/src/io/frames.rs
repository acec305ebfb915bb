//! Loading input frames (PNG or PNM, recognised by content) into the
//! network's 6-channel input, and writing frames (PNG, binary PPM).
//!
//! Sizes in messages are `WIDTHxHEIGHT`; sizes in arguments are `(h, w)`
//! like everywhere else in the crate.

use std::path::Path;

use image::codecs::png::PngEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, ExtendedColorType, ImageEncoder, ImageFormat, RgbImage};

use super::atomic::write_atomic_as;
use super::error::{one_line, read_error, IoError};
use crate::tensor::FTensor;

const KIND: &str = "frame";

/// Frame sides must be multiples of this (six stride-2 stages).
pub const SIZE_MULTIPLE: usize = 64;

/// Loads a frame as 8-bit RGB.
///
/// The format is recognised from the content, not the extension: PNG or any
/// PNM (PPM, PGM, PBM, PAM). Grayscale images are replicated to three
/// channels, an alpha channel is dropped (not composited) and 16-bit samples
/// are scaled to 8 bits; each conversion is logged at info level.
pub fn load_frame(path: &Path) -> Result<RgbImage, IoError> {
    let bytes = std::fs::read(path).map_err(|e| read_error(KIND, path, e))?;
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Pnm)) => f,
        Ok(other) => {
            let reason = format!("found {}, which is not supported", other.extensions_str().first().unwrap_or(&"?"));
            return Err(IoError::NotAnImage { path: path.to_path_buf(), reason });
        }
        Err(_) => {
            let reason = if bytes.is_empty() { "empty file".to_string() } else { "unrecognised content".to_string() };
            return Err(IoError::NotAnImage { path: path.to_path_buf(), reason });
        }
    };
    let img = image::load_from_memory_with_format(&bytes, format).map_err(|e| {
        // The decoders report missing data as an I/O error ("failed to fill whole buffer").
        let reason = match e {
            image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                format!("truncated: the file ends before its pixels do ({} bytes)", bytes.len())
            }
            e => one_line(e),
        };
        IoError::Decode { kind: KIND, path: path.to_path_buf(), reason }
    })?;
    Ok(match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => {
            log::info!("frame '{}': converting {:?} to 8-bit RGB", path.display(), other.color());
            other.to_rgb8()
        }
    })
}

/// Loads two frames into the network input: a `h × w × 6` tensor whose
/// values are the 8-bit pixel codes 0..=255 as `f32` (frame A's R, G, B,
/// then frame B's R, G, B).
///
/// The frames must have the same size. With `size = Some((h, w))` different
/// from that size, both frames are resized to it (triangle filter, aspect
/// ratio not preserved) with a warning; `size` itself is not required to be
/// a multiple of 64. With `size = None` the frames' own size is used and
/// must be a multiple of 64 in both dimensions, at most
/// [`crate::graph::MAX_SIDE`].
pub fn load_pair(a: &Path, b: &Path, size: Option<(usize, usize)>) -> Result<FTensor, IoError> {
    let fa = load_frame(a)?;
    let fb = load_frame(b)?;
    let (wa, ha) = (fa.width() as usize, fa.height() as usize);
    let (wb, hb) = (fb.width() as usize, fb.height() as usize);
    if (wa, ha) != (wb, hb) {
        return Err(IoError::SizeMismatch {
            path: b.to_path_buf(),
            size: (wb, hb),
            first: a.to_path_buf(),
            first_size: (wa, ha),
        });
    }
    let (fa, fb) = match size {
        None => {
            if wa % SIZE_MULTIPLE != 0 || ha % SIZE_MULTIPLE != 0 {
                let near = |n: usize| ((n + SIZE_MULTIPLE / 2) / SIZE_MULTIPLE).max(1) * SIZE_MULTIPLE;
                return Err(IoError::NotMultipleOf64 {
                    path: a.to_path_buf(),
                    size: (wa, ha),
                    suggested: (near(wa), near(ha)),
                });
            }
            let max = crate::graph::MAX_SIDE;
            if wa.max(ha) > max {
                return Err(IoError::TooLarge {
                    path: a.to_path_buf(),
                    size: (wa, ha),
                    max,
                    suggested: (wa.min(max), ha.min(max)),
                });
            }
            (fa, fb)
        }
        Some((h, w)) if (w, h) == (wa, ha) => (fa, fb),
        Some((h, w)) => {
            let (tw, th) = match (u32::try_from(w), u32::try_from(h)) {
                (Ok(tw), Ok(th)) if tw > 0 && th > 0 => (tw, th),
                _ => return Err(IoError::InvalidSize { path: a.to_path_buf(), size: (h, w) }),
            };
            log::warn!(
                "frames '{}' and '{}': resizing from {wa}x{ha} to {w}x{h}; the flow is computed at the new size",
                a.display(),
                b.display()
            );
            (imageops::resize(&fa, tw, th, FilterType::Triangle), imageops::resize(&fb, tw, th, FilterType::Triangle))
        }
    };
    Ok(pair_tensor(&fa, &fb))
}

/// The network input for two frames already in memory: `h × w × 6` pixel
/// codes 0..=255 as `f32` (A's R, G, B, then B's R, G, B). No size policy
/// is applied (see [`load_pair`] for that).
///
/// # Panics
/// If the frames differ in size.
pub fn pair_tensor(a: &RgbImage, b: &RgbImage) -> FTensor {
    assert_eq!(a.dimensions(), b.dimensions(), "pair_tensor: frames differ in size");
    let (w, h) = (a.width() as usize, a.height() as usize);
    let mut data = Vec::with_capacity(h * w * 6);
    for (pa, pb) in a.pixels().zip(b.pixels()) {
        data.extend(pa.0.iter().chain(pb.0.iter()).map(|&c| f32::from(c)));
    }
    FTensor::from_vec(h, w, 6, data)
}

/// Writes an RGB frame as a PNG, atomically.
pub fn save_png(path: &Path, img: &RgbImage) -> Result<(), IoError> {
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(img.as_raw(), img.width(), img.height(), ExtendedColorType::Rgb8)
        .map_err(|e| IoError::Encode { kind: "image", path: path.to_path_buf(), reason: one_line(e) })?;
    write_atomic_as("image", path, &png)
}

/// Writes an RGB frame as a binary PPM (P6, maxval 255), atomically.
pub fn save_ppm(path: &Path, img: &RgbImage) -> Result<(), IoError> {
    let mut ppm = format!("P6\n{} {}\n255\n", img.width(), img.height()).into_bytes();
    ppm.extend_from_slice(img.as_raw());
    write_atomic_as("image", path, &ppm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgb, Rgba, RgbaImage};
    use std::path::PathBuf;

    /// A frame whose pixels encode their position and a tag.
    fn pattern(w: u32, h: u32, tag: u8) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([(x * 3 % 256) as u8, (y * 5 % 256) as u8, tag]))
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn png_and_ppm_load_by_content() {
        let d = tmp();
        let img = pattern(7, 5, 9);
        // Extensions deliberately swapped: detection is by content.
        let (p_png, p_ppm) = (d.path().join("a.ppm"), d.path().join("b.png"));
        save_png(&p_png, &img).unwrap();
        save_ppm(&p_ppm, &img).unwrap();
        assert_eq!(std::fs::read(&p_png).unwrap()[..4], *b"\x89PNG");
        assert_eq!(std::fs::read(&p_ppm).unwrap()[..2], *b"P6");
        assert_eq!(load_frame(&p_png).unwrap(), img);
        assert_eq!(load_frame(&p_ppm).unwrap(), img);
    }

    #[test]
    fn pair_is_six_channels_of_codes() {
        let d = tmp();
        let (pa, pb) = (d.path().join("a.png"), d.path().join("b.ppm"));
        let (ia, ib) = (pattern(128, 64, 1), pattern(128, 64, 200));
        save_png(&pa, &ia).unwrap();
        save_ppm(&pb, &ib).unwrap();
        let t = load_pair(&pa, &pb, None).unwrap();
        assert_eq!((t.h, t.w, t.c), (64, 128, 6));
        let (x, y) = (100, 33);
        let (a, b) = (ia.get_pixel(x, y).0, ib.get_pixel(x, y).0);
        let expect: Vec<f32> = a.iter().chain(b.iter()).map(|&c| f32::from(c)).collect();
        assert_eq!(t.pixel(y as usize, x as usize), &expect[..]);
        assert!(t.data.iter().all(|&v| v.fract() == 0.0 && (0.0..=255.0).contains(&v)));
    }

    #[test]
    fn different_sizes_are_an_error_naming_both() {
        let d = tmp();
        let (pa, pb) = (d.path().join("a.png"), d.path().join("b.png"));
        save_png(&pa, &pattern(64, 64, 0)).unwrap();
        save_png(&pb, &pattern(128, 64, 0)).unwrap();
        for size in [None, Some((64, 64))] {
            let e = load_pair(&pa, &pb, size).unwrap_err();
            let s = e.to_string();
            assert!(matches!(e, IoError::SizeMismatch { .. }), "{e:?}");
            assert!(s.contains("b.png': size 128x64 differs from the first frame's 64x64"), "{s}");
        }
    }

    #[test]
    fn size_not_multiple_of_64_suggests_resizing() {
        let d = tmp();
        let (pa, pb) = (d.path().join("a.png"), d.path().join("b.png"));
        save_png(&pa, &pattern(100, 64, 0)).unwrap();
        save_png(&pb, &pattern(100, 64, 0)).unwrap();
        let e = load_pair(&pa, &pb, None).unwrap_err();
        assert!(matches!(e, IoError::NotMultipleOf64 { suggested: (128, 64), .. }), "{e:?}");
        assert!(e.to_string().contains("--size"), "{e}");
        // A multiple of 64 beyond the largest side the network takes.
        save_png(&pa, &RgbImage::new(16384, 64)).unwrap();
        let e = load_pair(&pa, &pa, None).unwrap_err().to_string();
        assert!(e.ends_with("a.png': size 16384x64 is larger than the network takes (8192 in each dimension at most); pass --size HxW to resize the frames (e.g. --size 64x8192)"), "{e}");
    }

    #[test]
    fn explicit_size_resizes_both_frames() {
        let d = tmp();
        let (pa, pb) = (d.path().join("a.png"), d.path().join("b.png"));
        // Uniform colours survive resampling exactly.
        save_png(&pa, &RgbImage::from_pixel(100, 50, Rgb([10, 20, 30]))).unwrap();
        save_png(&pb, &RgbImage::from_pixel(100, 50, Rgb([200, 150, 100]))).unwrap();
        let t = load_pair(&pa, &pb, Some((64, 128))).unwrap();
        assert_eq!((t.h, t.w, t.c), (64, 128, 6));
        assert_eq!(t.pixel(63, 127), &[10.0, 20.0, 30.0, 200.0, 150.0, 100.0]);
        // An explicit size equal to the frames' size needs no multiple of 64.
        let t = load_pair(&pa, &pb, Some((50, 100))).unwrap();
        assert_eq!((t.h, t.w), (50, 100));
        assert!(matches!(load_pair(&pa, &pb, Some((0, 64))), Err(IoError::InvalidSize { .. })));
    }

    #[test]
    fn grayscale_rgba_and_16_bit_are_converted() {
        let d = tmp();
        let p = d.path().join("g.png");
        GrayImage::from_fn(4, 3, |x, y| Luma([(x * 40 + y) as u8])).save(&p).unwrap();
        let img = load_frame(&p).unwrap();
        assert_eq!(img.get_pixel(3, 2).0, [122, 122, 122]);

        let p = d.path().join("rgba.png");
        RgbaImage::from_pixel(2, 2, Rgba([1, 2, 3, 0])).save(&p).unwrap();
        assert_eq!(load_frame(&p).unwrap().get_pixel(1, 1).0, [1, 2, 3]);

        let p = d.path().join("g.pgm");
        std::fs::write(&p, b"P5\n2 1\n255\n\x07\xf0").unwrap();
        assert_eq!(load_frame(&p).unwrap().get_pixel(1, 0).0, [240, 240, 240]);

        let p = d.path().join("deep.ppm");
        // 16-bit PPM (big-endian samples): 65535 -> 255, 0x8080 -> 128.
        std::fs::write(&p, b"P6\n1 1\n65535\n\xff\xff\x80\x80\x00\x00").unwrap();
        assert_eq!(load_frame(&p).unwrap().get_pixel(0, 0).0, [255, 128, 0]);
    }

    #[test]
    fn non_images_and_missing_files_name_the_file() {
        let d = tmp();
        let p = d.path().join("notes.png");
        std::fs::write(&p, b"hello, not an image").unwrap();
        let e = load_frame(&p).unwrap_err();
        assert!(matches!(e, IoError::NotAnImage { .. }), "{e:?}");
        assert!(e.to_string().contains("notes.png': not a PNG or PPM image"), "{e}");

        let p = d.path().join("photo.png");
        std::fs::write(&p, b"\xff\xd8\xff\xe0 jpeg-ish").unwrap();
        assert!(load_frame(&p).unwrap_err().to_string().contains("jpg"));

        let p = d.path().join("broken.png");
        std::fs::write(&p, b"\x89PNG\r\n\x1a\n truncated").unwrap();
        let e = load_frame(&p).unwrap_err();
        assert!(matches!(e, IoError::Decode { .. }), "{e:?}");
        assert!(!e.to_string().contains('\n'));

        // A PNM header promising more pixels than the file holds.
        let p = d.path().join("cut.ppm");
        std::fs::write(&p, b"P6\n64 64\n255\n\x01\x02\x03").unwrap();
        let e = load_frame(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("cut.ppm': cannot decode (truncated: the file ends before its pixels do (16 bytes))"),
            "{e}"
        );

        let missing: PathBuf = d.path().join("missing.png");
        let e = load_pair(&missing, &p, None).unwrap_err();
        assert!(matches!(e, IoError::NotFound { kind: "frame", .. }));
        assert!(e.to_string().starts_with("frame '") && e.to_string().ends_with("missing.png': no such file"));
    }
}
