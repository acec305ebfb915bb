// zynqflow Verilator harness: the C ABI that zynqflow-sim loads at run time.
//
// Everything that happens once per clock cycle lives here, in C++: the
// AXI4-Lite master (register reads and writes), the AXI4 slave memory that
// serves the accelerator's bursts from host buffers registered by Rust, the
// cycle counter, the interrupt line, reset and the optional FST waveform.
// Rust calls coarse operations ("write a register", "run until the interrupt
// or N cycles"), so the FFI never shows up per cycle.
//
// (`interrupt` is a reserved word in Verilator's C++: the port is `__SYM__interrupt`.)
//
// One cycle (`step`), exact mode (two evaluations):
//   1. with the clock low, drive the inputs from the harness state (memory
//      responses, readies, the AXI4-Lite master's signals) and evaluate;
//   2. sample the DUT's outputs (valid/ready/data seen before the edge);
//   3. raise the clock and evaluate (the rising edge);
//   4. update the harness state with the handshakes sampled in 2.
// Fast mode (the default; one evaluation): the DUT's outputs depend on its
// registers only, not combinationally on its inputs (checked: `check` mode
// counts any cycle where that fails, and the tests require none), so the
// outputs left by the previous edge are this cycle's pre-edge outputs:
// sample them, drive the inputs, re-arm Verilator's edge detector
// (`__Vtrigrprev__TOP__ap_clk`, Verilator 5.006's name; the cache hash covers
// the Verilator version) and evaluate the rising edge. Verilator evaluates
// all input-dependent logic on every eval(), so this halves that cost.
// Tracing and reset cycles always use the exact mode.
// The harness' valid and ready outputs depend only on its own state, never
// combinationally on the DUT's outputs of the same cycle.
//
// Memory timing (documented in docs/simulation.md):
//   - AR and AW are always ready (any number outstanding);
//   - a read burst's first beat is valid `read_latency` cycles after its AR
//     handshake; beats follow in order, at most one every `r_beat_interval`
//     cycles (1 = one beat per cycle, the default);
//   - W is ready while an accepted AW has data outstanding, at most one beat
//     every `w_beat_interval` cycles;
//   - B is valid `write_resp_latency` cycles after the burst's last W beat;
//   - a burst that is not wholly inside one registered buffer (its length
//     rounded up to whole beats) answers SLVERR (reads return zeros, writes
//     are dropped) and is counted; so is a strobed byte past a buffer's
//     exact end (dropped); a burst that
//     breaks the AXI rules the accelerator promises (length > 16, 4 KiB
//     crossing, wrong size or burst type, W before AW) is counted as a
//     protocol violation.
//
// Faults and soft reset (docs/simulation.md, "Faults"):
//   - `zf_set_hang`: after N more read beats the memory stops answering: no
//     R beat, no W ready, no B response (AR and AW are still accepted and
//     queue up), until the fault is cleared;
//   - a `CTRL.SOFT_RESET` needs nothing here: the accelerator drains its
//     bursts in flight before it is clean (`hdl/src/axi_drain.rs`), so the
//     memory answers them as any others.
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vzynqflow_top.h"
#include "Vzynqflow_top___024root.h"
#include "verilated.h"
#include "verilated_fst_c.h"

#ifndef ZF_DATA_BITS
#error "ZF_DATA_BITS (the AXI4 data width) must be defined"
#endif
static constexpr int BEAT_BYTES = ZF_DATA_BITS / 8;
static constexpr int BEAT_LOG2 = BEAT_BYTES == 8 ? 3 : 4;
static constexpr uint8_t RESP_OKAY = 0;
static constexpr uint8_t RESP_SLVERR = 2;

// Carries `sc_time_stamp` for code that asks for it (unused with a context).
double sc_time_stamp() { return 0; }

namespace {

struct Region {
    uint64_t base;
    uint8_t* ptr;
    uint64_t len;
};

struct Burst {
    uint64_t addr;
    uint32_t beats;
    uint32_t done;  // beats transferred
    uint64_t due;   // cycle from which the first beat (or the response) may go
    bool ok;        // wholly inside one buffer
};

/// Statistics, read by Rust as an array of u64 (order = `zf_stats`).
struct Stats {
    uint64_t read_bursts, read_beats, write_bursts, write_beats;
    uint64_t slverr_reads, slverr_writes, protocol_errors, max_outstanding_reads;
    uint64_t max_outstanding_writes;
};

struct Sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vzynqflow_top> top;
    std::unique_ptr<VerilatedFstC> fst;
    uint64_t cycle = 0;
    uint64_t time = 0;  // trace time (two steps per cycle)
    std::vector<Region> regions;
    std::deque<Burst> reads, writes, bresps;
    uint64_t next_r = 0, next_w = 0;  // earliest cycle for the next beat
    // parameters
    uint64_t read_latency = 40, write_resp_latency = 8, r_interval = 1, w_interval = 1;
    Stats st{};
    // Fault: silent from `st.read_beats == hang_at` on (or now, if `hung`).
    uint64_t hang_at = UINT64_MAX;
    bool hung = false;
    std::string last_error;
    // AXI4-Lite master state
    bool l_awvalid = false, l_wvalid = false, l_bready = false, l_arvalid = false, l_rready = false;
    uint32_t l_awaddr = 0, l_wdata = 0, l_araddr = 0;

    // A buffer answers whole beats: its length rounded up to the bus width
    // (a tensor whose size is not a multiple of the beat ends inside a beat
    // that the accelerator legitimately reads, or writes with the bytes past
    // the end unstrobed).
    static uint64_t beat_len(const Region& r) { return (r.len + BEAT_BYTES - 1) / BEAT_BYTES * BEAT_BYTES; }
    const Region* region(uint64_t addr, uint64_t bytes) const {
        for (const Region& r : regions)
            if (addr >= r.base && addr + bytes <= r.base + beat_len(r)) return &r;
        return nullptr;
    }
    bool find(uint64_t addr, uint64_t bytes) const { return region(addr, bytes) != nullptr; }
    uint8_t* at(uint64_t addr) const {
        const Region* r = region(addr, 1);
        return r ? r->ptr + (addr - r->base) : nullptr;
    }

    void dump() {
        if (fst) fst->dump(time);
        time++;
    }

    void set_rdata(const uint8_t* src) {
#if ZF_DATA_BITS == 64
        uint64_t v = 0;
        if (src) std::memcpy(&v, src, 8);
        top->m_axi_gmem_rdata = v;
#else
        for (int i = 0; i < BEAT_BYTES / 4; i++) {
            uint32_t v = 0;
            if (src) std::memcpy(&v, src + 4 * i, 4);
            top->m_axi_gmem_rdata[i] = v;
        }
#endif
    }
    void get_wdata(uint8_t* dst) const {
#if ZF_DATA_BITS == 64
        uint64_t v = top->m_axi_gmem_wdata;
        std::memcpy(dst, &v, 8);
#else
        for (int i = 0; i < BEAT_BYTES / 4; i++) {
            uint32_t v = top->m_axi_gmem_wdata[i];
            std::memcpy(dst + 4 * i, &v, 4);
        }
#endif
    }

    bool burst_ok(uint64_t addr, uint32_t len, uint32_t size, uint32_t burst) {
        bool legal = len >= 1 && len <= 16 && size == BEAT_LOG2 && burst == 1 && addr % BEAT_BYTES == 0 &&
                     (addr & 4095) + uint64_t(len) * BEAT_BYTES <= 4096;
        if (!legal) st.protocol_errors++;
        return legal;
    }

    /// The DUT's outputs the harness looks at; fields of an idle channel are zeroed.
    struct Outs {
        uint64_t araddr, awaddr;
        uint32_t arlen, arsize, arburst, awlen, awsize, awburst, wstrb, l_rdata, l_bresp, l_rresp;
        uint8_t wdata[BEAT_BYTES];
        bool ar, rready, aw, wvalid, wlast, bready, l_awready, l_wready, l_bvalid, l_arready, l_rvalid;
        bool operator==(const Outs& o) const { return std::memcmp(this, &o, sizeof(Outs)) == 0; }
    };
    /// What the harness drives this cycle (decided from its state alone).
    struct Drive {
        bool rvalid, wready, bvalid;
    };

    Outs sample() const {
        const Vzynqflow_top* t = top.get();
        Outs o;
        std::memset(&o, 0, sizeof o);
        o.ar = t->m_axi_gmem_arvalid;
        if (o.ar) {
            o.araddr = t->m_axi_gmem_araddr;
            o.arlen = uint32_t(t->m_axi_gmem_arlen) + 1;
            o.arsize = t->m_axi_gmem_arsize;
            o.arburst = t->m_axi_gmem_arburst;
        }
        o.rready = t->m_axi_gmem_rready;
        o.aw = t->m_axi_gmem_awvalid;
        if (o.aw) {
            o.awaddr = t->m_axi_gmem_awaddr;
            o.awlen = uint32_t(t->m_axi_gmem_awlen) + 1;
            o.awsize = t->m_axi_gmem_awsize;
            o.awburst = t->m_axi_gmem_awburst;
        }
        o.wvalid = t->m_axi_gmem_wvalid;
        if (o.wvalid) {
            get_wdata(o.wdata);
            o.wstrb = t->m_axi_gmem_wstrb;
            o.wlast = t->m_axi_gmem_wlast;
        }
        o.bready = t->m_axi_gmem_bready;
        o.l_awready = t->s_axi_control_awready;
        o.l_wready = t->s_axi_control_wready;
        o.l_bvalid = t->s_axi_control_bvalid;
        o.l_arready = t->s_axi_control_arready;
        o.l_rvalid = t->s_axi_control_rvalid;
        if (o.l_bvalid) o.l_bresp = t->s_axi_control_bresp;
        if (o.l_rvalid) {
            o.l_rdata = t->s_axi_control_rdata;
            o.l_rresp = t->s_axi_control_rresp;
        }
        return o;
    }

    Drive drive() {
        Vzynqflow_top* t = top.get();
        Drive d;
        t->m_axi_gmem_arready = 1;
        t->m_axi_gmem_awready = 1;
        d.rvalid = !hung && !reads.empty() && cycle >= reads.front().due && cycle >= next_r;
        if (d.rvalid) {
            const Burst& b = reads.front();
            set_rdata(b.ok ? at(b.addr + uint64_t(b.done) * BEAT_BYTES) : nullptr);
            t->m_axi_gmem_rlast = b.done + 1 == b.beats;
            t->m_axi_gmem_rresp = b.ok ? RESP_OKAY : RESP_SLVERR;
        } else {
            set_rdata(nullptr);
            t->m_axi_gmem_rlast = 0;
            t->m_axi_gmem_rresp = 0;
        }
        t->m_axi_gmem_rvalid = d.rvalid;
        d.wready = !hung && !writes.empty() && cycle >= next_w;
        t->m_axi_gmem_wready = d.wready;
        d.bvalid = !hung && !bresps.empty() && cycle >= bresps.front().due;
        t->m_axi_gmem_bvalid = d.bvalid;
        t->m_axi_gmem_bresp = d.bvalid && !bresps.front().ok ? RESP_SLVERR : RESP_OKAY;
        t->s_axi_control_awvalid = l_awvalid;
        t->s_axi_control_awaddr = l_awaddr;
        t->s_axi_control_wvalid = l_wvalid;
        t->s_axi_control_wdata = l_wdata;
        t->s_axi_control_wstrb = 0xf;
        t->s_axi_control_bready = l_bready;
        t->s_axi_control_arvalid = l_arvalid;
        t->s_axi_control_araddr = l_araddr;
        t->s_axi_control_rready = l_rready;
        return d;
    }

    /// One clock cycle; see the file header for the two ways of running it.
    void step() {
        Vzynqflow_top* t = top.get();
        Outs o;
        Drive d;
        if (fast && !fst && top->ap_rst_n) {
            // One evaluation: the outputs left by the last edge are the
            // pre-edge outputs of this cycle (they depend on state only);
            // re-arm the edge detector and evaluate the rising edge with
            // this cycle's inputs.
            o = sample();
            d = drive();
            t->ap_clk = 1;
            t->rootp->__Vtrigrprev__TOP__ap_clk = 0;
            t->eval();
            cycle++;
        } else {
            t->ap_clk = 0;
            d = drive();
            t->eval();
            dump();
            o = sample();
            if (check && have_after_edge && !(o == after_edge)) comb_mismatches++;
            t->ap_clk = 1;
            t->eval();
            dump();
            cycle++;
            if (check) {
                after_edge = sample();
                have_after_edge = true;
            }
        }
        apply(o, d);
    }

    void apply(const Outs& o, const Drive& d) {
        bool rtake = d.rvalid && o.rready;
        bool wtake = o.wvalid && d.wready;
        bool btake = d.bvalid && o.bready;
        bool l_aw_hs = l_awvalid && o.l_awready;
        bool l_w_hs = l_wvalid && o.l_wready;
        bool l_b_hs = l_bready && o.l_bvalid;
        bool l_ar_hs = l_arvalid && o.l_arready;
        bool l_r_hs = l_rready && o.l_rvalid;
        if (o.ar) {
            bool legal = burst_ok(o.araddr, o.arlen, o.arsize, o.arburst);
            bool ok = legal && find(o.araddr, uint64_t(o.arlen) * BEAT_BYTES);
            if (!ok && !st.slverr_reads++ && !slverr_addr) slverr_addr = o.araddr, slverr_beats = o.arlen;
            reads.push_back({o.araddr, o.arlen, 0, cycle + read_latency - 1, ok});
            st.read_bursts++;
            if (reads.size() > st.max_outstanding_reads) st.max_outstanding_reads = reads.size();
        }
        if (rtake) {
            Burst& b = reads.front();
            st.read_beats++;
            next_r = cycle + r_interval - 1;
            if (++b.done == b.beats) reads.pop_front();
            if (st.read_beats >= hang_at) hung = true;
        }
        if (o.aw) {
            bool legal = burst_ok(o.awaddr, o.awlen, o.awsize, o.awburst);
            bool ok = legal && find(o.awaddr, uint64_t(o.awlen) * BEAT_BYTES);
            if (!ok && !st.slverr_writes++ && !slverr_addr) slverr_addr = o.awaddr | (1ull << 63), slverr_beats = o.awlen;
            writes.push_back({o.awaddr, o.awlen, 0, 0, ok});
            st.write_bursts++;
            if (writes.size() > st.max_outstanding_writes) st.max_outstanding_writes = writes.size();
        }
        if (wtake) {
            Burst& b = writes.front();
            st.write_beats++;
            next_w = cycle + w_interval - 1;
            if (b.ok) {
                uint64_t a = b.addr + uint64_t(b.done) * BEAT_BYTES;
                const Region* r = region(a, BEAT_BYTES);
                for (int i = 0; i < BEAT_BYTES; i++) {
                    if (!(o.wstrb >> i & 1)) continue;
                    if (a + i < r->base + r->len) {
                        r->ptr[a + i - r->base] = o.wdata[i];
                    } else {
                        // A strobed byte past the buffer's end: dropped, counted.
                        if (!st.slverr_writes++ && !slverr_addr) slverr_addr = (a + i) | (1ull << 63), slverr_beats = 1;
                    }
                }
            }
            b.done++;
            if (o.wlast != (b.done == b.beats)) st.protocol_errors++;
            if (b.done == b.beats) {
                bresps.push_back({b.addr, b.beats, b.beats, cycle + write_resp_latency - 1, b.ok});
                writes.pop_front();
            }
        }
        if (btake) bresps.pop_front();
        if (l_aw_hs) l_awvalid = false;
        if (l_w_hs) l_wvalid = false;
        if (l_b_hs) {
            l_bready = false;
            lite_resp = o.l_bresp;
            lite_done = true;
        }
        if (l_ar_hs) l_arvalid = false;
        if (l_r_hs) {
            l_rready = false;
            lite_rdata = o.l_rdata;
            lite_resp = o.l_rresp;
            lite_done = true;
        }
    }
    bool fast = true, check = false, have_after_edge = false;
    Outs after_edge;
    uint64_t comb_mismatches = 0;
    // The first burst answered SLVERR (bit 63: a write) and its beats.
    uint64_t slverr_addr = 0, slverr_beats = 0;
    bool lite_done = false;
    uint32_t lite_rdata = 0, lite_resp = 0;
};

}  // namespace

extern "C" {

/// ABI version of this shim; Rust refuses a library with another.
uint32_t zf_abi_version() { return 4; }

/// AXI4 data width in bits the library was built for.
uint32_t zf_data_bits() { return ZF_DATA_BITS; }

/// A new simulation, held in reset (call `zf_reset`). `trace_path` may be
/// null (no waveform) or an FST file name.
void* zf_new(const char* trace_path) {
    Sim* s = new Sim();
    s->ctx.reset(new VerilatedContext());
    s->ctx->traceEverOn(true);
    s->top.reset(new Vzynqflow_top(s->ctx.get(), "zynqflow_top"));
    if (trace_path && trace_path[0]) {
        s->fst.reset(new VerilatedFstC());
        s->top->trace(s->fst.get(), 99);
        s->fst->open(trace_path);
    }
    s->top->ap_rst_n = 0;
    s->top->ap_clk = 0;
    s->top->eval();
    return s;
}

/// Ends the simulation (closes the waveform).
void zf_free(void* h) {
    Sim* s = static_cast<Sim*>(h);
    if (!s) return;
    if (s->fst) s->fst->close();
    s->top->final();
    delete s;
}

/// Sets the memory timing (see the file header). Zeros keep the value.
void zf_set_timing(void* h, uint64_t read_latency, uint64_t write_resp_latency, uint64_t r_interval, uint64_t w_interval) {
    Sim* s = static_cast<Sim*>(h);
    if (read_latency) s->read_latency = read_latency;
    if (write_resp_latency) s->write_resp_latency = write_resp_latency;
    if (r_interval) s->r_interval = r_interval;
    if (w_interval) s->w_interval = w_interval;
}

/// Registers host memory `ptr[0..len]` at bus address `base`. The memory
/// must stay valid until `zf_free` or `zf_clear_memory`, and be readable up
/// to the next multiple of the bus width (whole beats are read; strobed
/// bytes past `len` are dropped and counted as SLVERR writes).
void zf_add_memory(void* h, uint64_t base, uint8_t* ptr, uint64_t len) {
    static_cast<Sim*>(h)->regions.push_back({base, ptr, len});
}

/// Forgets every registered buffer.
void zf_clear_memory(void* h) { static_cast<Sim*>(h)->regions.clear(); }

/// Holds `ap_rst_n` low for `cycles` cycles, then releases it; drops any
/// outstanding memory transactions.
void zf_reset(void* h, uint32_t cycles) {
    Sim* s = static_cast<Sim*>(h);
    s->reads.clear();
    s->writes.clear();
    s->bresps.clear();
    s->l_awvalid = s->l_wvalid = s->l_bready = s->l_arvalid = s->l_rready = false;
    s->top->ap_rst_n = 0;
    for (uint32_t i = 0; i < cycles; i++) s->step();
    s->top->ap_rst_n = 1;
    s->top->eval();  // outputs out of reset before the next (maybe fast) step
}

/// Register write through the AXI4-Lite master. Returns the BRESP (0 OKAY),
/// or 0x100 if the slave did not answer within `limit` cycles.
uint32_t zf_reg_write(void* h, uint32_t offset, uint32_t value, uint64_t limit) {
    Sim* s = static_cast<Sim*>(h);
    s->l_awaddr = offset;
    s->l_wdata = value;
    s->l_awvalid = s->l_wvalid = s->l_bready = true;
    s->lite_done = false;
    for (uint64_t i = 0; i < limit && !s->lite_done; i++) s->step();
    if (!s->lite_done) {
        s->l_awvalid = s->l_wvalid = s->l_bready = false;
        return 0x100;
    }
    return s->lite_resp;
}

/// Register read through the AXI4-Lite master into `*value`. Returns the
/// RRESP (0 OKAY), or 0x100 on no answer within `limit` cycles.
uint32_t zf_reg_read(void* h, uint32_t offset, uint32_t* value, uint64_t limit) {
    Sim* s = static_cast<Sim*>(h);
    s->l_araddr = offset;
    s->l_arvalid = s->l_rready = true;
    s->lite_done = false;
    for (uint64_t i = 0; i < limit && !s->lite_done; i++) s->step();
    if (!s->lite_done) {
        s->l_arvalid = s->l_rready = false;
        return 0x100;
    }
    *value = s->lite_rdata;
    return s->lite_resp;
}

/// Runs until `interrupt` is high or `max_cycles` have passed; returns the
/// cycles run (0 if the interrupt was already up).
uint64_t zf_run(void* h, uint64_t max_cycles) {
    Sim* s = static_cast<Sim*>(h);
    uint64_t n = 0;
    while (n < max_cycles && !s->top->__SYM__interrupt) {
        s->step();
        n++;
    }
    return n;
}

/// The `interrupt` output now.
uint32_t zf_interrupt(void* h) { return static_cast<Sim*>(h)->top->__SYM__interrupt; }

/// Cycles since `zf_new`.
uint64_t zf_cycles(void* h) { return static_cast<Sim*>(h)->cycle; }

/// Copies up to `n` statistics (see `Stats`) into `out`; returns how many exist.
uint32_t zf_stats(void* h, uint64_t* out, uint32_t n) {
    Sim* s = static_cast<Sim*>(h);
    uint64_t v[12];
    std::memcpy(v, &s->st, sizeof(Stats));
    v[9] = s->comb_mismatches;
    v[10] = s->slverr_addr;
    v[11] = s->slverr_beats;
    const uint32_t count = 12;
    std::memcpy(out, v, sizeof(uint64_t) * (n < count ? n : count));
    return count;
}

/// Memory transactions still outstanding (reads, writes awaiting data,
/// write responses), for checks at the end of a run.
uint64_t zf_outstanding(void* h) {
    Sim* s = static_cast<Sim*>(h);
    return s->reads.size() + s->writes.size() + s->bresps.size();
}

/// Fault: with `armed`, the memory stops answering (no R beat, no W ready,
/// no B response; addresses are still accepted) once `after_read_beats`
/// more read beats have been delivered (0: at once). Without, it answers
/// again and answers what it had accepted meanwhile, in order.
void zf_set_hang(void* h, uint64_t after_read_beats, uint32_t armed) {
    Sim* s = static_cast<Sim*>(h);
    if (!armed) {
        s->hang_at = UINT64_MAX;
        s->hung = false;
        return;
    }
    s->hang_at = after_read_beats > UINT64_MAX - s->st.read_beats ? UINT64_MAX : s->st.read_beats + after_read_beats;
    s->hung = after_read_beats == 0;
}

/// Whether the memory is silent now (the fault of `zf_set_hang` struck).
uint32_t zf_hung(void* h) { return static_cast<Sim*>(h)->hung; }

/// Evaluation mode: `fast` (one evaluation per cycle, the default; not
/// while tracing or in reset) or two per cycle; `check` (two-evaluation mode
/// only) counts cycles where an output sampled before the edge differs from
/// its value right after the previous edge, i.e. depends combinationally on
/// an input (`zf_stats` entry 9): zero justifies the fast mode.
void zf_set_mode(void* h, uint32_t fast, uint32_t check) {
    Sim* s = static_cast<Sim*>(h);
    s->fast = fast;
    s->check = check;
    s->have_after_edge = false;
}

/// Flushes the waveform file.
void zf_flush_trace(void* h) {
    Sim* s = static_cast<Sim*>(h);
    if (s->fst) s->fst->flush();
}

}  // extern "C"
