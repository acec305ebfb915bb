//! Convolution geometry shared by the float and quantized CPU kernels.

/// Geometry of one 2-D convolution (or transposed convolution).
///
/// Regular convolution: the input is first upsampled by nearest neighbour by
/// `upsample` (1 or 2), then convolved with a `kh × kw` kernel at `stride`
/// with `pad` zeros on every side:
/// `out = (in·upsample + 2·pad − k) / stride + 1`; output (oy, ox) reads the
/// upsampled input at `oy·stride − pad + ky` (zero outside).
///
/// Transposed convolution (`transposed = true`, `upsample` must be 1): input
/// pixel (iy, ix) scatters into output `iy·stride − pad + ky`:
/// `out = (in − 1)·stride − 2·pad + k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvGeom {
    /// Kernel rows (1..=7).
    pub kh: usize,
    /// Kernel columns (1..=7).
    pub kw: usize,
    /// Stride (1 or 2).
    pub stride: usize,
    /// Zero padding on each side.
    pub pad: usize,
    /// Nearest-neighbour input upsampling factor (1 or 2).
    pub upsample: usize,
    /// Transposed convolution.
    pub transposed: bool,
}

impl ConvGeom {
    /// A plain `k × k` convolution.
    pub fn square(k: usize, stride: usize, pad: usize) -> Self {
        ConvGeom { kh: k, kw: k, stride, pad, upsample: 1, transposed: false }
    }

    /// Output extent along one axis for input extent `n` and kernel size `k`,
    /// or `None` if the geometry leaves no output.
    pub fn out_extent(&self, n: usize, k: usize) -> Option<usize> {
        if self.transposed {
            ((n - 1) * self.stride + k).checked_sub(2 * self.pad).filter(|&o| o > 0)
        } else {
            (n * self.upsample + 2 * self.pad).checked_sub(k).map(|v| v / self.stride + 1)
        }
    }

    /// Output (h, w) for an input of (h, w).
    pub fn out_shape(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        Some((self.out_extent(h, self.kh)?, self.out_extent(w, self.kw)?))
    }

    /// For a regular convolution: the input coordinate that output `o` reads
    /// at kernel offset `k`, or `None` where it falls in the padding.
    #[inline]
    pub fn input_coord(&self, o: usize, k: usize, n: usize) -> Option<usize> {
        debug_assert!(!self.transposed);
        let u = (o * self.stride + k).checked_sub(self.pad)?;
        (u < n * self.upsample).then_some(u / self.upsample)
    }

    /// For a transposed convolution: the input coordinate that contributes to
    /// output `o` through kernel offset `k`, or `None`.
    #[inline]
    pub fn transposed_input_coord(&self, o: usize, k: usize, n: usize) -> Option<usize> {
        debug_assert!(self.transposed);
        let t = (o + self.pad).checked_sub(k)?;
        (t % self.stride == 0 && t / self.stride < n).then_some(t / self.stride)
    }

    /// Checks the ranges the hardware will support; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=7).contains(&self.kh) || !(1..=7).contains(&self.kw) {
            return Err(format!("kernel {}x{} outside 1..=7", self.kh, self.kw));
        }
        if !(1..=2).contains(&self.stride) {
            return Err(format!("stride {} is not 1 or 2", self.stride));
        }
        if !(1..=2).contains(&self.upsample) {
            return Err(format!("upsample {} is not 1 or 2", self.upsample));
        }
        if self.transposed && self.upsample != 1 {
            return Err("a transposed convolution cannot also upsample".into());
        }
        if self.pad >= self.kh.min(self.kw) {
            return Err(format!("padding {} not smaller than the kernel", self.pad));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_shapes_follow_the_usual_formulas() {
        assert_eq!(ConvGeom::square(3, 1, 1).out_shape(48, 64), Some((48, 64)));
        assert_eq!(ConvGeom::square(7, 2, 3).out_shape(384, 512), Some((192, 256)));
        assert_eq!(ConvGeom::square(5, 2, 2).out_shape(192, 256), Some((96, 128)));
        let up = ConvGeom { upsample: 2, ..ConvGeom::square(3, 1, 1) };
        assert_eq!(up.out_shape(6, 8), Some((12, 16)));
        let tr = ConvGeom { transposed: true, ..ConvGeom::square(4, 2, 1) };
        assert_eq!(tr.out_shape(6, 8), Some((12, 16)));
        assert_eq!(ConvGeom::square(5, 1, 0).out_shape(3, 3), None);
    }

    #[test]
    fn coordinates_map_into_the_input_or_padding() {
        let g = ConvGeom::square(3, 2, 1);
        assert_eq!(g.input_coord(0, 0, 8), None);
        assert_eq!(g.input_coord(0, 1, 8), Some(0));
        assert_eq!(g.input_coord(3, 2, 8), Some(7));
        let up = ConvGeom { upsample: 2, ..ConvGeom::square(3, 1, 1) };
        assert_eq!(up.input_coord(5, 1, 4), Some(2));
        assert_eq!(up.input_coord(7, 2, 4), None);
        let tr = ConvGeom { transposed: true, ..ConvGeom::square(4, 2, 1) };
        // Output 0 gets input 0 through k=1 only (k=3 would need input -1).
        assert_eq!(tr.transposed_input_coord(0, 1, 6), Some(0));
        assert_eq!(tr.transposed_input_coord(0, 0, 6), None);
        assert_eq!(tr.transposed_input_coord(0, 3, 6), None);
        assert_eq!(tr.transposed_input_coord(11, 0, 6), None);
        assert_eq!(tr.transposed_input_coord(11, 2, 6), Some(5));
    }
}
