# KV260 (K26 SOM, xck26, Zynq UltraScale+): the zynqflow accelerator behind
# M_AXI_HPM0_FPD and S_AXI_HP0_FPD (128-bit), interrupt on pl_ps_irq0[0].
# See README.md here.
#   vivado -mode batch -source bitstreams/kv260/build.tcl \
#     -tclargs -verilog build/kv260/verilog -out build/kv260 [-fclk_mhz 100]
set board {
    name        kv260
    part        xck26-sfvc784-2LV-c
    board_part  xilinx.com:kv260_som:part0:1.4
    ps          ps8
    hp_width    128
    reg_base    0xA0000000
    reg_range   64K
    dma_seg     SAXIGP2/HP0_DDR_LOW
    dma_range   2G
}
source [file join [file dirname [file normalize [info script]]] .. common zynqflow.tcl]
zynqflow::build $board $argv
