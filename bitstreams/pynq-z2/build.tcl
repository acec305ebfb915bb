# PYNQ-Z2 (xc7z020, Zynq-7000): the zynqflow accelerator behind M_AXI_GP0 and
# S_AXI_HP0 (64-bit), interrupt on IRQ_F2P[0]. See README.md here.
#   vivado -mode batch -source bitstreams/pynq-z2/build.tcl \
#     -tclargs -verilog build/pynq-z2/verilog -out build/pynq-z2 [-fclk_mhz 100]
set board {
    name        pynq-z2
    part        xc7z020clg400-1
    board_part  tul.com.tw:pynq-z2:part0:1.0
    ps          ps7
    hp_width    64
    reg_base    0x43C00000
    reg_range   64K
    dma_seg     S_AXI_HP0/HP0_DDR_LOWOCM
    dma_range   512M
}
source [file join [file dirname [file normalize [info script]]] .. common zynqflow.tcl]
zynqflow::build $board $argv
