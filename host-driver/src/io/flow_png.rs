//! Colour-wheel visualisation of a flow field (the Middlebury colour code of
//! Baker et al.), written as a PNG.
//!
//! Hue encodes the direction: the angle `atan2(-v, -u)/π` in [-1, 1] indexes
//! a 55-colour wheel built from the segments red→yellow (15), yellow→green
//! (6), green→cyan (4), cyan→blue (11), blue→magenta (13) and magenta→red
//! (6), with linear interpolation between neighbouring colours. Saturation
//! encodes the magnitude: the radius is divided by the largest radius in the
//! image, so zero flow is white and the largest vector is fully saturated;
//! a normalised radius above 1 (only possible through rounding) is dimmed
//! by 0.75. Pixels with a non-finite component, or a component above 1e9 in
//! magnitude (the Middlebury "unknown flow" marker), are black and ignored
//! in the normalisation.

use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use super::atomic::write_atomic_as;
use super::error::{one_line, IoError};
use super::flo::Flow;

/// Segment lengths of the wheel: RY, YG, GC, CB, BM, MR.
const SEGMENTS: [usize; 6] = [15, 6, 4, 11, 13, 6];

/// Number of colours in the wheel.
pub const WHEEL_COLOURS: usize = 55;

/// Components above this magnitude mark unknown flow (Middlebury uses 1e10).
const UNKNOWN_FLOW: f32 = 1e9;

/// Smallest radius used for normalisation, so that all-zero flow is white.
const MIN_MAX_RADIUS: f64 = 1e-9;

/// The 55 wheel colours, each channel in 0..=255.
fn wheel() -> [[f64; 3]; WHEEL_COLOURS] {
    let mut out = [[0.0; 3]; WHEEL_COLOURS];
    let mut k = 0;
    for (seg, &n) in SEGMENTS.iter().enumerate() {
        for i in 0..n {
            // Rising and falling ramps, floored to integer codes.
            let up = (255 * i / n) as f64;
            let down = 255.0 - up;
            out[k] = match seg {
                0 => [255.0, up, 0.0],   // red -> yellow
                1 => [down, 255.0, 0.0], // yellow -> green
                2 => [0.0, 255.0, up],   // green -> cyan
                3 => [0.0, down, 255.0], // cyan -> blue
                4 => [up, 0.0, 255.0],   // blue -> magenta
                _ => [255.0, 0.0, down], // magenta -> red
            };
            k += 1;
        }
    }
    out
}

/// Whether a flow vector is known (finite and not an "unknown" marker).
fn known(u: f32, v: f32) -> bool {
    u.is_finite() && v.is_finite() && u.abs() <= UNKNOWN_FLOW && v.abs() <= UNKNOWN_FLOW
}

/// The colour of the normalised vector (fu, fv).
fn colour(wheel: &[[f64; 3]; WHEEL_COLOURS], fu: f64, fv: f64) -> [u8; 3] {
    let rad = (fu * fu + fv * fv).sqrt();
    let a = (-fv).atan2(-fu) / std::f64::consts::PI;
    let fk = (a + 1.0) / 2.0 * (WHEEL_COLOURS - 1) as f64;
    let k0 = (fk.floor() as usize).min(WHEEL_COLOURS - 1);
    let k1 = (k0 + 1) % WHEEL_COLOURS;
    let f = fk - k0 as f64;
    let mut out = [0u8; 3];
    for (ch, o) in out.iter_mut().enumerate() {
        let c0 = wheel[k0][ch] / 255.0;
        let c1 = wheel[k1][ch] / 255.0;
        let mut col = (1.0 - f) * c0 + f * c1;
        if rad <= 1.0 {
            col = 1.0 - rad * (1.0 - col);
        } else {
            col *= 0.75;
        }
        *o = (255.0 * col).floor().clamp(0.0, 255.0) as u8;
    }
    out
}

/// Renders `flow` with the colour wheel: `h·w·3` bytes, RGB, row-major.
pub fn flow_to_rgb(flow: &Flow) -> Vec<u8> {
    let max_rad = flow
        .data
        .chunks_exact(2)
        .filter(|p| known(p[0], p[1]))
        .map(|p| f64::from(p[0]).hypot(f64::from(p[1])))
        .fold(MIN_MAX_RADIUS, f64::max);
    let wheel = wheel();
    let mut out = Vec::with_capacity(3 * flow.h * flow.w);
    for p in flow.data.chunks_exact(2) {
        if known(p[0], p[1]) {
            out.extend_from_slice(&colour(&wheel, f64::from(p[0]) / max_rad, f64::from(p[1]) / max_rad));
        } else {
            out.extend_from_slice(&[0, 0, 0]);
        }
    }
    out
}

/// Writes the colour-wheel rendering of `flow` to `path` as a PNG, atomically.
pub fn write_flow_png(path: &Path, flow: &Flow) -> Result<(), IoError> {
    const KIND: &str = "flow image";
    let enc_err = |reason: String| IoError::Encode { kind: KIND, path: path.to_path_buf(), reason };
    let w = u32::try_from(flow.w).map_err(|_| enc_err(format!("width {} is too large", flow.w)))?;
    let h = u32::try_from(flow.h).map_err(|_| enc_err(format!("height {} is too large", flow.h)))?;
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&flow_to_rgb(flow), w, h, ExtendedColorType::Rgb8)
        .map_err(|e| enc_err(one_line(e)))?;
    write_atomic_as(KIND, path, &png)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(rgb: &[u8], i: usize) -> [u8; 3] {
        [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]
    }

    #[test]
    fn wheel_segments_are_the_middlebury_ones() {
        let w = wheel();
        assert_eq!(w[0], [255.0, 0.0, 0.0]); // red
        assert_eq!(w[15], [255.0, 255.0, 0.0]); // yellow
        assert_eq!(w[21], [0.0, 255.0, 0.0]); // green
        assert_eq!(w[25], [0.0, 255.0, 255.0]); // cyan
        assert_eq!(w[36], [0.0, 0.0, 255.0]); // blue
        assert_eq!(w[49], [255.0, 0.0, 255.0]); // magenta
        assert_eq!(w[54], [255.0, 0.0, 43.0]); // last step back towards red
    }

    #[test]
    fn zero_flow_is_white_and_length_is_3hw() {
        let f = Flow::zeros(3, 4);
        let rgb = flow_to_rgb(&f);
        assert_eq!(rgb.len(), 3 * 3 * 4);
        assert!(rgb.iter().all(|&b| b == 255));
    }

    #[test]
    fn unit_directions_have_the_wheel_colours() {
        // Right, down, left, up (+y is down), all of radius 1 = the maximum.
        let f = Flow::from_vec(1, 5, vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0, 0.0, 0.0]);
        let rgb = flow_to_rgb(&f);
        // +u: angle -1, wheel colour 0: pure red.
        assert_eq!(px(&rgb, 0), [255, 0, 0]);
        // +v: angle -1/2, halfway between wheel colours 13 and 14 (yellow-orange).
        assert_eq!(px(&rgb, 1), [255, 229, 0]);
        // -u: angle 0, wheel colour 27 on the cyan -> blue segment.
        assert_eq!(px(&rgb, 2), [0, 209, 255]);
        // -v: angle 1/2, between colours 40 and 41 on blue -> magenta (violet).
        assert_eq!(px(&rgb, 3), [88, 0, 255]);
        // The zero vector is white even next to saturated ones.
        assert_eq!(px(&rgb, 4), [255, 255, 255]);
    }

    #[test]
    fn saturation_follows_the_normalised_radius() {
        // Half the maximum radius to the right: halfway between white and red.
        let f = Flow::from_vec(1, 2, vec![4.0, 0.0, 2.0, 0.0]);
        let rgb = flow_to_rgb(&f);
        assert_eq!(px(&rgb, 0), [255, 0, 0]);
        assert_eq!(px(&rgb, 1), [255, 127, 127]);
    }

    #[test]
    fn non_finite_and_unknown_flow_is_black_and_ignored() {
        let f = Flow::from_vec(1, 4, vec![f32::NAN, 0.0, 1.0, f32::INFINITY, 1e10, 0.0, 2.0, 0.0]);
        let rgb = flow_to_rgb(&f);
        assert_eq!(px(&rgb, 0), [0, 0, 0]);
        assert_eq!(px(&rgb, 1), [0, 0, 0]);
        assert_eq!(px(&rgb, 2), [0, 0, 0]);
        // The maximum radius comes from the only known vector.
        assert_eq!(px(&rgb, 3), [255, 0, 0]);
    }

    #[test]
    fn png_file_decodes_to_the_same_pixels() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("flow.png");
        let f = Flow::from_vec(2, 2, vec![1.0, 0.0, 0.0, 1.0, -0.5, 0.5, 0.0, 0.0]);
        write_flow_png(&p, &f).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (2, 2));
        assert_eq!(img.into_raw(), flow_to_rgb(&f));
    }
}
