//! Execution of one validated descriptor over bus memory: the arithmetic
//! heart of the functional model.
//!
//! [`execute`] implements the semantics in the module docs of
//! `zynqflow_isa::descriptor` — asymmetric padding (`pad_top`/`pad_left`
//! with explicit `out_h`/`out_w`), nearest-neighbour input upsampling,
//! threshold ([`ThresholdMode::apply`]) or raw `i32` output, placement at
//! `out_stride`/`out_off_*` and `ch_off` in the destination, with the codes
//! written `2^copies_log2` times (`copies_log2`), packed taps (`pack_taps`:
//! the weights unpacked into the 2 × 2 kernel at load), packed planes
//! (`pack_planes`: the last channel group summed over the packed plane pairs
//! only) — on the layouts
//! of `zynqflow_isa::layout`, with the bit-plane identity of
//! `zynqflow_isa::precision` (the private `kernel` module).
//!
//! Order of work: every range the descriptor touches is looked up first
//! (input, weights, thresholds, destination), so an unbacked range is a
//! `BusError` before anything is written; then input, weights and thresholds
//! are copied out of memory; then output rows are computed in parallel
//! (rayon), each writing only the destination words it owns.
//!
//! The input is the channel slice `in_ch_off .. in_ch_off + cin` of an
//! `in_c_total`-channel tensor; bits of channels at or past `cin` in the
//! last group read are masked to zero, as the contract requires.
//!
//! Model conventions where the contract is silent (documented here, to be
//! matched or decided by the RTL):
//! - a threshold record whose mode word does not decode
//!   ([`ThresholdMode::decode`]) stops the list with `BadThresholds`, before
//!   anything is written (thresholds are read before the computation);
//! - raw accumulators are written as their low 32 bits (they always fit
//!   when `acc_bits ≤ 32`, as in every preset).

use super::kernel::{self, Chunk, Isa, LANES, PX};
use super::memory::BusMemory;
use rayon::prelude::*;
use zynqflow_isa::precision::packed_plane_steps;
use zynqflow_isa::{CheckedDescriptor, ErrorCode, ThresholdMode, CHANNELS_PER_WORD, PACK_LANES};

/// Output pixels gathered and computed per chunk (a multiple of [`PX`]).
const CHUNK: usize = 32;

/// Computes descriptor `d` (which must come from `zynqflow_isa::validate`)
/// over `mem` and returns the multiply-accumulates it performed
/// ([`CheckedDescriptor::macs`]).
///
/// Reads the input, weight and (threshold mode) threshold words, computes
/// every output `oy < out_h`, `ox < out_w`, `co < cout` exactly, and writes
/// only what it owns: in threshold mode, for each output pixel, the
/// `ceil(cout·copies/64) × a_out` words starting at group `ch_off/64` (channels past
/// `cout` in the last group written as 0); in raw mode the `i32` of channel
/// `ch_off + co`. Returns `ErrorCode::BusError`, having written nothing, if
/// any of those ranges is not backed by `mem`.
pub fn execute(mem: &mut impl BusMemory, d: &CheckedDescriptor) -> Result<u64, ErrorCode> {
    execute_with(mem, d, kernel::detect())
}

/// [`execute`] with the micro-kernels compiled for `isa` (which the CPU must
/// support: `kernel::detect` or below).
pub(crate) fn execute_with(mem: &mut impl BusMemory, d: &CheckedDescriptor, isa: Isa) -> Result<u64, ErrorCode> {
    let conv = Conv::load(mem, d, isa)?;
    let len = (d.write.end - d.write.start) as usize;
    let dst = mem.slice_mut(d.write.start, len).ok_or(ErrorCode::BusError)?;
    conv.run(dst);
    Ok(d.macs())
}

/// How outputs are written.
enum Out {
    /// Codes through thresholds.
    Threshold {
        /// Output planes.
        a_out: usize,
        /// Words per destination pixel.
        dst_wpp: usize,
        /// First destination word of the owned groups within a pixel.
        first_word: usize,
        /// Owned groups per pixel (`ceil(cout·copies/64)`).
        groups: usize,
        /// Copies of the codes (`2^copies_log2`): channel `m·cout + co`.
        copies: usize,
        /// Decoded mode per output channel (`None`: undecodable word).
        modes: Vec<ThresholdMode>,
        /// Thresholds, `cout × (2^a_out − 1)`.
        thr: Vec<i32>,
    },
    /// Raw `i32` at channel `ch_off + co` of a `dst_c`-channel tensor.
    Raw { dst_c: usize, ch_off: usize },
}

/// The last (tap, group) pair of a packed-planes descriptor
/// (`zynqflow_isa::precision::packed_plane_steps`): each step's term is
/// `popcount(a_p & w_q)` over all 64 lanes times the plane pair's factor.
struct Packed {
    /// The pair's weight plane words, `[co][q]`.
    words: Vec<u64>,
    /// `(p, q, ±2^(p+q))` of each step.
    steps: Vec<(usize, usize, i64)>,
}

/// A descriptor with its operands copied out of memory.
struct Conv {
    in_h: usize,
    in_w: usize,
    up: usize,
    stride: usize,
    pad_top: usize,
    pad_left: usize,
    kh: usize,
    kw: usize,
    out_h: usize,
    out_w: usize,
    out_stride: usize,
    off_y: usize,
    off_x: usize,
    dst_w: usize,
    /// Input groups of 64 channels.
    g: usize,
    /// Activation planes.
    a: usize,
    /// Weight planes.
    w: usize,
    binary: bool,
    cout: usize,
    /// Output-channel blocks of [`LANES`].
    blocks: usize,
    /// Input words of the channel slice read, `in_h × in_w × G × A`,
    /// channels ≥ cin masked off.
    input: Vec<u64>,
    /// Weights, `[block][tap·G + group][plane][lane]`.
    wt: Vec<u64>,
    /// Packed planes (`pack_planes`, non-binary weights): the last pair's
    /// weights, taken out of `wt`.
    packed: Option<Packed>,
    out: Out,
    isa: Isa,
}

fn words(b: &[u8]) -> impl Iterator<Item = u64> + '_ {
    b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
}

fn read<'m>(mem: &'m impl BusMemory, r: &std::ops::Range<u64>) -> Result<&'m [u8], ErrorCode> {
    mem.read(r.start, (r.end - r.start) as usize).ok_or(ErrorCode::BusError)
}

impl Conv {
    /// Looks every range up (destination included) and copies the operands.
    fn load(mem: &impl BusMemory, d: &CheckedDescriptor, isa: Isa) -> Result<Conv, ErrorCode> {
        let input_b = read(mem, &d.reads[0])?;
        let weight_b = read(mem, &d.reads[1])?;
        let thr_b = if d.thresholds.is_some() { read(mem, &d.reads[2])? } else { &[][..] };
        read(mem, &d.write)?;
        let c = &d.desc;
        let (a, w) = (d.input.bits.bits(), d.weights.bits.bits());
        // The groups read: `in_ch_off/64 ..` of the `in_c_total` tensor,
        // copied compactly, with channels at or past `cin` masked to zero.
        let g = d.weights.groups();
        let (g0, wpp_total) = (c.in_ch_off as usize / CHANNELS_PER_WORD, d.input.words_per_pixel());
        let cin_tail = d.weights.cin % CHANNELS_PER_WORD;
        let mask = if cin_tail == 0 { u64::MAX } else { (1u64 << cin_tail) - 1 };
        let mut input = Vec::with_capacity(d.input.height * d.input.width * g * a);
        for px in input_b.chunks_exact(wpp_total * 8) {
            let read = words(&px[g0 * a * 8..(g0 + g) * a * 8]);
            input.extend(read.enumerate().map(|(i, v)| if i / a == g - 1 { v & mask } else { v }));
        }

        let cout = c.cout as usize;
        let blocks = cout.div_ceil(LANES);
        let tg = (c.kh * c.kw) as usize * g;
        let per_co = tg * w;
        let mut wm: Vec<u64> = words(weight_b).collect();
        if c.pack_taps != 0 {
            // Packed taps: one 64-lane word per plane, tap t = 2·ky + kx in
            // lanes 16·t ..; unpacked into the kernel's four taps, the sum
            // is the same term for term (lanes past cin meet masked inputs).
            let seg = (1u64 << PACK_LANES) - 1;
            wm = (0..cout)
                .flat_map(|co| {
                    let planes = &wm[co * w..(co + 1) * w];
                    (0..4).flat_map(move |t| planes.iter().map(move |&v| (v >> (PACK_LANES * t)) & seg))
                })
                .collect();
        }
        // Packed planes: the last (tap, group) pair is summed over the
        // packed plane pairs only (`Packed`); the kernel sees it as zero
        // weights, which add nothing.
        let packed = (c.pack_planes != 0 && !d.weights.bits.is_binary()).then(|| {
            let last = (tg - 1) * w;
            let words: Vec<u64> = (0..cout)
                .flat_map(|co| {
                    let planes = wm[co * per_co + last..co * per_co + last + w].to_vec();
                    wm[co * per_co + last..co * per_co + last + w].fill(0);
                    planes
                })
                .collect();
            let steps = packed_plane_steps(d.input.bits, d.weights.bits)
                .into_iter()
                .map(|(p, q)| (p, q, i64::from(d.weights.bits.plane_weight(q)) << p))
                .collect();
            Packed { words, steps }
        });
        let mut wt = vec![0u64; blocks * per_co * LANES];
        for co in 0..cout {
            let (b, l) = (co / LANES, co % LANES);
            for (i, &v) in wm[co * per_co..(co + 1) * per_co].iter().enumerate() {
                wt[(b * per_co + i) * LANES + l] = v;
            }
        }

        let out = match (d.thresholds, d.dst_act, d.dst_raw) {
            (Some(t), Some(dst), _) => {
                let rec = t.words_per_channel();
                let tw: Vec<i32> =
                    thr_b.chunks_exact(4).map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
                let mut modes = Vec::with_capacity(cout);
                let mut thr = Vec::with_capacity(cout * (rec - 1));
                for co in 0..cout {
                    let r = &tw[co * rec..(co + 1) * rec];
                    modes.push(ThresholdMode::decode(r[0]).map_err(|_| ErrorCode::BadThresholds)?);
                    thr.extend_from_slice(&r[1..]);
                }
                let a_out = dst.bits.bits();
                Out::Threshold {
                    a_out,
                    dst_wpp: dst.words_per_pixel(),
                    first_word: c.ch_off as usize / CHANNELS_PER_WORD * a_out,
                    groups: (c.written_channels() as usize).div_ceil(CHANNELS_PER_WORD),
                    copies: 1 << c.copies_log2,
                    modes,
                    thr,
                }
            }
            (None, None, Some(raw)) => Out::Raw { dst_c: raw.channels, ch_off: c.ch_off as usize },
            _ => panic!("inconsistent CheckedDescriptor (not from validate)"),
        };
        Ok(Conv {
            in_h: c.in_h as usize,
            in_w: c.in_w as usize,
            up: c.upsample as usize,
            stride: c.stride as usize,
            pad_top: c.pad_top as usize,
            pad_left: c.pad_left as usize,
            kh: c.kh as usize,
            kw: c.kw as usize,
            out_h: c.out_h as usize,
            out_w: c.out_w as usize,
            out_stride: c.out_stride as usize,
            off_y: c.out_off_y as usize,
            off_x: c.out_off_x as usize,
            dst_w: c.dst_w as usize,
            g,
            a,
            w,
            binary: d.weights.bits.is_binary(),
            cout,
            blocks,
            input,
            wt,
            packed,
            out,
            isa,
        })
    }

    /// Bytes per destination pixel.
    fn dst_pixel_bytes(&self) -> usize {
        match &self.out {
            Out::Threshold { dst_wpp, .. } => dst_wpp * 8,
            Out::Raw { dst_c, .. } => dst_c * 4,
        }
    }

    /// Computes every output row into `dst` (the whole destination tensor).
    fn run(&self, dst: &mut [u8]) {
        let row_bytes = self.dst_w * self.dst_pixel_bytes();
        debug_assert_eq!(dst.len() % row_bytes, 0);
        dst.par_chunks_mut(row_bytes)
            .skip(self.off_y)
            .step_by(self.out_stride)
            .take(self.out_h)
            .enumerate()
            .for_each_init(|| Scratch::new(self), |s, (oy, row)| self.row(oy, row, s));
    }

    /// Receptive-field words per pixel.
    fn rf_len(&self) -> usize {
        self.kh * self.kw * self.g * self.a
    }

    /// Output row `oy` into the destination row `row`.
    fn row(&self, oy: usize, row: &mut [u8], s: &mut Scratch) {
        for x0 in (0..self.out_w).step_by(CHUNK) {
            let n = CHUNK.min(self.out_w - x0);
            let padded = n.div_ceil(PX) * PX;
            self.gather(oy, x0, n, padded, s);
            let chunk = Chunk {
                rf: &s.rf,
                rf_len: self.rf_len(),
                pixels: padded,
                wt: &self.wt,
                tg: self.kh * self.kw * self.g,
                a: self.a,
                w: self.w,
                blocks: self.blocks,
            };
            kernel::run(self.isa, self.binary, &chunk, &mut s.acc);
            for px in 0..n {
                let acc = &mut s.acc[px * self.blocks * LANES..][..self.cout];
                if let Some(pk) = &self.packed {
                    let rf_len = self.rf_len();
                    let act = &s.rf[px * rf_len + rf_len - self.a..][..self.a];
                    for (co, v) in acc.iter_mut().enumerate() {
                        let wq = &pk.words[co * self.w..][..self.w];
                        *v +=
                            pk.steps.iter().map(|&(p, q, f)| i64::from((act[p] & wq[q]).count_ones()) * f).sum::<i64>();
                    }
                }
                if self.binary {
                    acc.iter_mut().for_each(|v| *v = v.wrapping_sub(s.abits[px]));
                }
                let dx = (x0 + px) * self.out_stride + self.off_x;
                let pix = &mut row[dx * self.dst_pixel_bytes()..][..self.dst_pixel_bytes()];
                self.emit(acc, pix, &mut s.words);
            }
        }
    }

    /// Gathers the receptive fields of pixels `x0..x0+n` of row `oy` into
    /// `s.rf` (zero words for padding and for pixels `n..padded`), and for
    /// binary weights their `Σ_p 2^p·popcount(a_p)` into `s.abits`.
    fn gather(&self, oy: usize, x0: usize, n: usize, padded: usize, s: &mut Scratch) {
        let (rf_len, wpp) = (self.rf_len(), self.g * self.a);
        let (up_h, up_w) = (self.in_h * self.up, self.in_w * self.up);
        for px in 0..padded {
            let dst = &mut s.rf[px * rf_len..(px + 1) * rf_len];
            if px >= n {
                dst.fill(0);
                continue;
            }
            let ox = x0 + px;
            for ky in 0..self.kh {
                let iy = (oy * self.stride + ky).checked_sub(self.pad_top).filter(|&u| u < up_h).map(|u| u / self.up);
                for kx in 0..self.kw {
                    let ix =
                        (ox * self.stride + kx).checked_sub(self.pad_left).filter(|&v| v < up_w).map(|v| v / self.up);
                    let tap = &mut dst[(ky * self.kw + kx) * wpp..][..wpp];
                    match (iy, ix) {
                        (Some(iy), Some(ix)) => tap.copy_from_slice(&self.input[(iy * self.in_w + ix) * wpp..][..wpp]),
                        _ => tap.fill(0),
                    }
                }
            }
            if self.binary {
                let mut sum = 0i64;
                for (i, &v) in dst.iter().enumerate() {
                    sum += i64::from(v.count_ones()) << (i % self.a);
                }
                s.abits[px] = sum;
            }
        }
    }

    /// Writes the outputs of one pixel (`acc`: `cout` accumulators) into its
    /// destination pixel bytes `pix`.
    fn emit(&self, acc: &[i64], pix: &mut [u8], words: &mut [u64]) {
        match &self.out {
            Out::Raw { ch_off, .. } => {
                for (co, &v) in acc.iter().enumerate() {
                    pix[(ch_off + co) * 4..][..4].copy_from_slice(&(v as i32).to_le_bytes());
                }
            }
            Out::Threshold { a_out, first_word, groups, copies, modes, thr, .. } => {
                let nthr = (1usize << a_out) - 1;
                let words = &mut words[..groups * a_out];
                words.fill(0);
                let cout = acc.len();
                for (co, &v) in acc.iter().enumerate() {
                    let code = threshold(modes[co], v, &thr[co * nthr..(co + 1) * nthr]);
                    for ch in (0..*copies).map(|m| m * cout + co) {
                        let (grp, bit) = (ch / CHANNELS_PER_WORD, ch % CHANNELS_PER_WORD);
                        for p in 0..*a_out {
                            words[grp * a_out + p] |= u64::from((code >> p) & 1) << bit;
                        }
                    }
                }
                for (i, wd) in words.iter().enumerate() {
                    pix[(first_word + i) * 8..][..8].copy_from_slice(&wd.to_le_bytes());
                }
            }
        }
    }
}

/// The output code of accumulator `acc` ([`ThresholdMode::apply`], extended
/// to accumulators wider than `i32`).
fn threshold(mode: ThresholdMode, acc: i64, t: &[i32]) -> u32 {
    match i32::try_from(acc) {
        Ok(v) => mode.apply(v, t),
        Err(_) => match mode {
            ThresholdMode::Ascending => t.iter().filter(|&&x| acc >= i64::from(x)).count() as u32,
            ThresholdMode::Descending => t.iter().filter(|&&x| acc <= i64::from(x)).count() as u32,
            ThresholdMode::Constant(_) => mode.apply(0, t),
        },
    }
}

/// Per-task buffers.
struct Scratch {
    /// Receptive fields of one chunk.
    rf: Vec<u64>,
    /// Binary weights: per-pixel activation sums.
    abits: [i64; CHUNK],
    /// Accumulators of one chunk, `CHUNK × blocks·LANES`.
    acc: Vec<i64>,
    /// Output words of one pixel (threshold mode).
    words: Vec<u64>,
}

impl Scratch {
    fn new(c: &Conv) -> Self {
        let out_words = match &c.out {
            Out::Threshold { a_out, groups, .. } => a_out * groups,
            Out::Raw { .. } => 0,
        };
        Scratch {
            rf: vec![0; CHUNK * c.rf_len()],
            abits: [0; CHUNK],
            acc: vec![0; CHUNK * c.blocks * LANES],
            words: vec![0; out_words],
        }
    }
}
