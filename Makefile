# zynqflow entry points. `make demo` and `make test` are the two a new user needs.

CARGO   ?= cargo
SIZE    ?= 192x256
NET     ?= lmflownets
BIN     := target/release/zynqflow
DEB_PKGS := verilator yosys iverilog device-tree-compiler g++ make zlib1g-dev tcl
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build demo test fmt-check bench clean fuzz fuzz-rtl test-sim-full bitstream synth-estimate

## deps: install the Debian packages the simulation and hardware flows need (when missing)
deps:
	@missing=""; \
	for t in verilator:verilator yosys:yosys iverilog:iverilog dtc:device-tree-compiler g++:g++ make:make tclsh:tcl; do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t##*:}"; \
	done; \
	[ -e /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	else echo "deps: $(DEB_PKGS) present"; fi

## build: release build of the CLI
build:
	$(CARGO) build --release

## demo: flow for a synthetic frame pair on the best backend available
## (the accelerator's functional model until the Verilator simulation exists)
demo: deps build
	$(BIN) infer --backend model --net $(NET) --synthetic-weights 1 --synthetic-frames 1 --size $(SIZE) --out flow.flo --png flow.png --truth-png flow_truth.png
	@echo "demo: flow field in $(CURDIR)/flow.flo, colour-wheel picture in $(CURDIR)/flow.png"
	@echo "      the synthetic pair's true flow in $(CURDIR)/flow_truth.png (the weights are synthetic and untrained:"
	@echo "      give --weights FILE with trained weights for a meaningful flow, see docs/weights.md)"

## test: every test of the workspace, in release mode
test: deps fmt-check
	$(CARGO) test --workspace --release

## fmt-check: the tree is formatted as rustfmt.toml says (`cargo fmt --all` fixes
## it); skipped with a warning where the toolchain has no rustfmt
fmt-check:
	@if $(CARGO) fmt --version >/dev/null 2>&1; then \
	  $(CARGO) fmt --all --check >/dev/null || { echo "fmt-check: not formatted: run 'cargo fmt --all'"; exit 1; }; \
	  echo "fmt-check: formatted"; \
	else echo "fmt-check: WARNING: no rustfmt in this toolchain, formatting not checked"; fi

## fuzz: the proptest fuzz targets (arbitrary and mutated .npy, .flo and
## safetensors files, descriptors: errors, never panics) for FUZZ_SECONDS
## each, FUZZ_JOBS at a time (docs/robustness.md); `make test` runs them briefly
FUZZ_SECONDS ?= 600
FUZZ_JOBS    ?= 1
fuzz:
	ZYNQFLOW_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test --release -p zynqflow-isa --lib fuzz_ -- --nocapture --test-threads=$(FUZZ_JOBS)
	ZYNQFLOW_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test --release -p zynqflow-driver --lib fuzz_ -- --nocapture --test-threads=$(FUZZ_JOBS)

## fuzz-rtl: 1000 seeded random layers on the RTL (Verilator, `small`) against
## the functional model (FUZZ_LAYERS=N, FUZZ_SEED=S to change; outside CI)
FUZZ_LAYERS ?= 1000
FUZZ_SEED   ?= 1000
fuzz-rtl: deps
	ZYNQFLOW_FUZZ_LAYERS=$(FUZZ_LAYERS) ZYNQFLOW_FUZZ_SEED=$(FUZZ_SEED) \
	  $(CARGO) test --release -p zynqflow-sim --test rtl_vs_model -- --ignored --nocapture fuzz_rtl

## test-sim-full: LmFlowNetS 128x192 on the RTL (`small`), byte-identical to the
## CPU reference (minutes of simulation; outside CI)
test-sim-full: deps
	$(CARGO) test --release --test cli_sim_backend -- --ignored --nocapture

## bench: the figures of docs/performance.md — every descriptor of LmFlowNetS
## and FlowNetS at 384x512 on the pynq-z2 and ultra96v2 RTL (Verilator),
## CPU quantized vs float ($(NET) $(SIZE)), simulation speed; writes
## bench/results/<date>.json and refreshes the table (about 30 minutes here: LmFlowNetS runs whole)
bench: deps build
	$(BIN) bench --net $(NET) --size $(SIZE) --runs 5

## synth-estimate: open-source resource estimate (yosys) of CONFIG, before
## Vivado (docs/resources.md; the board presets take tens of minutes)
CONFIG ?= small
synth-estimate: build
	$(BIN) synth-estimate --config $(CONFIG) --json synth-estimate-$(CONFIG).json

## bitstream: Vivado build of BOARD (pynq-z2, ultra96v2, kv260): Verilog of
## the board's configuration, block design, synthesis, implementation,
## bitstream and reports in build/BOARD (bitstreams/BOARD/README.md)
BOARD      ?= pynq-z2
BOARD_CONFIG ?= $(BOARD)
FCLK_MHZ   ?= 100
VIVADO     ?= vivado
BITSTREAM_OUT ?= build/$(BOARD)
BOARDS     := pynq-z2 ultra96v2 kv260
bitstream:
	@command -v $(VIVADO) >/dev/null 2>&1 || { \
	  echo "error: Vivado (\`$(VIVADO)\`) is not on PATH. Install AMD Vivado ML Standard (free; 2022.2 or newer covers" >&2; \
	  echo "       xc7z020, xczu3eg and xck26) and load it with \`source <install dir>/Vivado/<version>/settings64.sh\`." >&2; \
	  echo "       Without Vivado, \`make synth-estimate CONFIG=$(BOARD_CONFIG)\` gives yosys' resource estimate." >&2; \
	  exit 1; }
	@case " $(BOARDS) " in *" $(BOARD) "*) ;; *) echo "error: unknown BOARD '$(BOARD)' (known: $(BOARDS))" >&2; exit 1;; esac
	$(CARGO) build --release
	@mkdir -p $(BITSTREAM_OUT)
	$(BIN) verilog --config $(BOARD_CONFIG) --out $(BITSTREAM_OUT)/verilog --force
	$(VIVADO) -mode batch -notrace -nojournal -log $(BITSTREAM_OUT)/vivado.log \
	  -source bitstreams/$(BOARD)/build.tcl \
	  -tclargs -verilog $(BITSTREAM_OUT)/verilog -out $(BITSTREAM_OUT) -fclk_mhz $(FCLK_MHZ)
	dtc -@ -I dts -O dtb -o $(BITSTREAM_OUT)/zynqflow.dtbo bitstreams/$(BOARD)/zynqflow.dtso
	@echo "bitstream: $(BITSTREAM_OUT)/zynqflow-$(BOARD).bit(.bin), overlay $(BITSTREAM_OUT)/zynqflow.dtbo, reports in $(BITSTREAM_OUT)"

clean:
	$(CARGO) clean
	rm -f flow.flo flow.png flow_truth.png
