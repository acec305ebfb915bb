# Ultra96-V2 (xczu3eg, Zynq UltraScale+): the zynqflow accelerator behind
# M_AXI_HPM0_FPD and S_AXI_HP0_FPD (128-bit), interrupt on pl_ps_irq0[0].
# See README.md here.
#   vivado -mode batch -source bitstreams/ultra96v2/build.tcl \
#     -tclargs -verilog build/ultra96v2/verilog -out build/ultra96v2 [-fclk_mhz 100]
set board {
    name        ultra96v2
    part        xczu3eg-sbva484-1-i
    board_part  avnet.com:ultra96v2:part0:1.2
    ps          ps8
    hp_width    128
    reg_base    0xA0000000
    reg_range   64K
    dma_seg     SAXIGP2/HP0_DDR_LOW
    dma_range   2G
}
source [file join [file dirname [file normalize [info script]]] .. common zynqflow.tcl]
zynqflow::build $board $argv
