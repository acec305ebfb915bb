# zynqflow entry points. `make demo` and `make test` are the two a new user needs.

CARGO   ?= cargo
SIZE    ?= 192x256
NET     ?= lmflownets
BIN     := target/release/zynqflow
DEB_PKGS := verilator yosys iverilog device-tree-compiler g++ make zlib1g-dev
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build demo test bench clean fuzz-rtl test-sim-full

## deps: install the Debian packages the simulation and hardware flows need (when missing)
deps:
	@missing=""; \
	for t in verilator:verilator yosys:yosys iverilog:iverilog dtc:device-tree-compiler g++:g++ make:make; do \
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
test: deps
	$(CARGO) test --workspace --release

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

## bench: CPU quantized vs float on the same network (see docs/performance.md)
bench: build
	$(BIN) bench --net $(NET) --size $(SIZE)

clean:
	$(CARGO) clean
	rm -f flow.flo flow.png flow_truth.png
