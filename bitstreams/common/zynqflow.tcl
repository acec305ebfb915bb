# zynqflow: the Vivado batch flow shared by the boards' build.tcl.
#
# A board script sets a dict of its facts and calls `zynqflow::build $board $argv`:
#   name        board name (pynq-z2, ultra96v2, kv260)
#   part        FPGA part
#   board_part  Vivado board part, used when its board files are installed
#   ps          ps7 (Zynq-7000) or ps8 (Zynq UltraScale+)
#   hp_width    data width of the accelerator's AXI4 master (bits): 64 or 128
#   reg_base    register window base on the PS's GP master
#   reg_range   register window size
#   dma_seg     the HP port's DDR segment the accelerator's master sees
#   dma_range   its size (the DMA window: the DDR below 4 GiB)
#
# Arguments (-tclargs): -verilog DIR (from `zynqflow verilog`, holds filelist.f)
#   -out DIR  [-fclk_mhz 100] [-jobs 2] [-allow_timing_failure 0]
#
# The block design: PS with one GP master (registers) and one HP slave (DDR),
# two SmartConnects, proc_sys_reset on the fabric clock, and the accelerator
# as an RTL module reference (zynqflow_top: ap_clk, ap_rst_n, s_axi_control,
# m_axi_gmem, interrupt, which Vivado infers from the port names).
# Tcl 8.5 only (Vivado's interpreter): no lmap, no string cat.

namespace eval zynqflow {
    variable top zynqflow_top
    variable bd zynqflow_bd
}

# Parses "-key value" pairs over the defaults; refuses unknown keys.
proc zynqflow::parse_args {argv defaults} {
    set opts $defaults
    if {[llength $argv] % 2 != 0} {
        error "arguments come in pairs: -verilog DIR -out DIR \[-fclk_mhz MHZ\] \[-jobs N\] (got: $argv)"
    }
    foreach {k v} $argv {
        set key [string trimleft $k -]
        if {![dict exists $opts $key]} {
            set known {}
            foreach x [dict keys $opts] { lappend known -$x }
            error "unknown argument $k (known: [join $known {, }])"
        }
        dict set opts $key $v
    }
    foreach need {verilog out} {
        if {[dict get $opts $need] eq ""} { error "missing -$need" }
    }
    return $opts
}

# The Verilog files listed in DIR/filelist.f, as absolute paths.
proc zynqflow::rtl_files {dir} {
    set list [file join $dir filelist.f]
    if {![file exists $list]} {
        error "$list not found: generate the Verilog first (zynqflow verilog --config BOARD --out $dir)"
    }
    set f [open $list r]
    set names [split [string trim [read $f]] "\n"]
    close $f
    set files {}
    foreach n $names {
        set n [string trim $n]
        if {$n ne ""} { lappend files [file normalize [file join $dir $n]] }
    }
    if {[llength $files] == 0} { error "$list lists no file" }
    return $files
}

# Zynq-7000 PS: M_AXI_GP0 (registers), S_AXI_HP0 (DDR), FCLK_CLK0, IRQ_F2P.
# Returns the pin names the shared wiring needs.
proc zynqflow::ps7 {board fclk_mhz preset} {
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7 processing_system7_0]
    apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
        -config [list make_external "FIXED_IO, DDR" apply_board_preset $preset Master Disable Slave Disable] $ps
    set_property -dict [list \
        CONFIG.PCW_USE_M_AXI_GP0 {1} \
        CONFIG.PCW_USE_S_AXI_HP0 {1} \
        CONFIG.PCW_S_AXI_HP0_DATA_WIDTH [dict get $board hp_width] \
        CONFIG.PCW_EN_CLK0_PORT {1} \
        CONFIG.PCW_EN_RST0_PORT {1} \
        CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ $fclk_mhz \
        CONFIG.PCW_USE_FABRIC_INTERRUPT {1} \
        CONFIG.PCW_IRQ_F2P_INTR {1} \
    ] $ps
    set actual [get_property CONFIG.PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ $ps]
    return [dict create cell processing_system7_0 clk FCLK_CLK0 resetn FCLK_RESET0_N \
        gp M_AXI_GP0 gp_clk M_AXI_GP0_ACLK hp S_AXI_HP0 hp_clk S_AXI_HP0_ACLK irq IRQ_F2P actual_mhz $actual]
}

# Zynq UltraScale+ PS: M_AXI_HPM0_FPD (registers), S_AXI_HP0_FPD (DDR),
# pl_clk0, pl_ps_irq0. The other masters are disabled so that no AXI clock
# pin is left unconnected.
proc zynqflow::ps8 {board fclk_mhz preset} {
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e zynq_ultra_ps_e_0]
    if {$preset} {
        apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {apply_board_preset "1"} $ps
    }
    set_property -dict [list \
        CONFIG.PSU__USE__M_AXI_GP0 {1} \
        CONFIG.PSU__MAXIGP0__DATA_WIDTH {32} \
        CONFIG.PSU__USE__M_AXI_GP1 {0} \
        CONFIG.PSU__USE__M_AXI_GP2 {0} \
        CONFIG.PSU__USE__S_AXI_GP2 {1} \
        CONFIG.PSU__SAXIGP2__DATA_WIDTH [dict get $board hp_width] \
        CONFIG.PSU__FPGA_PL0_ENABLE {1} \
        CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $fclk_mhz \
        CONFIG.PSU__USE__IRQ0 {1} \
    ] $ps
    set actual [get_property CONFIG.PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ $ps]
    return [dict create cell zynq_ultra_ps_e_0 clk pl_clk0 resetn pl_resetn0 \
        gp M_AXI_HPM0_FPD gp_clk maxihpm0_fpd_aclk hp S_AXI_HP0_FPD hp_clk saxihp0_fpd_aclk irq pl_ps_irq0 actual_mhz $actual]
}

# The block design around the accelerator; returns the PS pin dict.
proc zynqflow::block_design {board fclk_mhz preset} {
    variable top
    variable bd
    create_bd_design $bd
    set p [zynqflow::[dict get $board ps] $board $fclk_mhz $preset]
    set ps [dict get $p cell]

    set acc [create_bd_cell -type module -reference $top zynqflow_0]
    set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset proc_sys_reset_0]
    set smc_ctrl [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect smartconnect_ctrl]
    set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {1}] $smc_ctrl
    set smc_mem [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect smartconnect_mem]
    set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {1}] $smc_mem

    # The module reference's interfaces take the fabric clock's real
    # frequency (the PS rounds the request: ZynqMP's 100 MHz is 99.999 MHz).
    set hz [get_property CONFIG.FREQ_HZ [get_bd_pins $ps/[dict get $p clk]]]
    set_property CONFIG.FREQ_HZ $hz [get_bd_pins zynqflow_0/ap_clk]
    set_property CONFIG.FREQ_HZ $hz [get_bd_intf_pins zynqflow_0/s_axi_control]
    set_property CONFIG.FREQ_HZ $hz [get_bd_intf_pins zynqflow_0/m_axi_gmem]

    # Registers: PS GP master -> SmartConnect -> AXI4-Lite slave.
    connect_bd_intf_net [get_bd_intf_pins $ps/[dict get $p gp]] [get_bd_intf_pins smartconnect_ctrl/S00_AXI]
    connect_bd_intf_net [get_bd_intf_pins smartconnect_ctrl/M00_AXI] [get_bd_intf_pins zynqflow_0/s_axi_control]
    # DMA: AXI4 master -> SmartConnect -> PS HP slave (DDR).
    connect_bd_intf_net [get_bd_intf_pins zynqflow_0/m_axi_gmem] [get_bd_intf_pins smartconnect_mem/S00_AXI]
    connect_bd_intf_net [get_bd_intf_pins smartconnect_mem/M00_AXI] [get_bd_intf_pins $ps/[dict get $p hp]]

    # One clock domain: the fabric clock.
    connect_bd_net [get_bd_pins $ps/[dict get $p clk]] \
        [get_bd_pins $ps/[dict get $p gp_clk]] \
        [get_bd_pins $ps/[dict get $p hp_clk]] \
        [get_bd_pins smartconnect_ctrl/aclk] \
        [get_bd_pins smartconnect_mem/aclk] \
        [get_bd_pins proc_sys_reset_0/slowest_sync_clk] \
        [get_bd_pins zynqflow_0/ap_clk]
    # Reset: the PS's fabric reset, synchronized.
    connect_bd_net [get_bd_pins $ps/[dict get $p resetn]] [get_bd_pins proc_sys_reset_0/ext_reset_in]
    connect_bd_net [get_bd_pins proc_sys_reset_0/interconnect_aresetn] \
        [get_bd_pins smartconnect_ctrl/aresetn] [get_bd_pins smartconnect_mem/aresetn]
    connect_bd_net [get_bd_pins proc_sys_reset_0/peripheral_aresetn] [get_bd_pins zynqflow_0/ap_rst_n]
    # Interrupt: IRQ_F2P[0] (GIC SPI 61) / pl_ps_irq0[0] (GIC SPI 121).
    connect_bd_net [get_bd_pins zynqflow_0/interrupt] [get_bd_pins $ps/[dict get $p irq]]

    # Address map: the register window on the GP master, and the DDR below
    # 4 GiB through the HP port for the accelerator's 32-bit master.
    assign_bd_address -offset [dict get $board reg_base] -range [dict get $board reg_range] \
        -target_address_space [get_bd_addr_spaces $ps/Data] \
        [get_bd_addr_segs zynqflow_0/s_axi_control/*] -force
    assign_bd_address -offset 0x00000000 -range [dict get $board dma_range] \
        -target_address_space [get_bd_addr_spaces zynqflow_0/m_axi_gmem] \
        [get_bd_addr_segs $ps/[dict get $board dma_seg]] -force

    validate_bd_design
    save_bd_design
    return $p
}

# The whole flow: project, block design, synthesis, implementation,
# reports, bitstream, .bin, hardware platform.
proc zynqflow::build {board argv} {
    variable bd
    set opts [zynqflow::parse_args $argv {verilog "" out "" fclk_mhz 100 jobs 2 allow_timing_failure 0}]
    set name [dict get $board name]
    set out [file normalize [dict get $opts out]]
    set fclk [dict get $opts fclk_mhz]
    set files [zynqflow::rtl_files [dict get $opts verilog]]
    file mkdir $out
    puts "zynqflow: $name, part [dict get $board part], fabric clock $fclk MHz, [llength $files] Verilog files"

    create_project zynqflow_$name [file join $out project] -part [dict get $board part] -force
    set preset 0
    if {[get_board_parts -quiet [dict get $board board_part]] ne ""} {
        set_property board_part [dict get $board board_part] [current_project]
        set preset 1
    } else {
        puts "zynqflow: board files for [dict get $board board_part] are not installed: building for the bare part\
              (the PS's DDR/MIO settings do not matter when Linux loads the bitstream through the FPGA manager)"
    }
    set_property target_language Verilog [current_project]
    add_files -norecurse $files
    update_compile_order -fileset sources_1

    set p [zynqflow::block_design $board $fclk $preset]
    puts "zynqflow: fabric clock requested $fclk MHz, the PS generates [dict get $p actual_mhz] MHz"

    set bd_file [get_files $bd.bd]
    generate_target all $bd_file
    set wrapper [make_wrapper -files $bd_file -top]
    add_files -norecurse $wrapper
    set_property top ${bd}_wrapper [current_fileset]
    update_compile_order -fileset sources_1

    launch_runs synth_1 -jobs [dict get $opts jobs]
    wait_on_run synth_1
    if {[get_property PROGRESS [get_runs synth_1]] ne "100%"} {
        error "synthesis failed: see [file join $out project] (synth_1/runme.log)"
    }
    launch_runs impl_1 -jobs [dict get $opts jobs]
    wait_on_run impl_1
    if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
        error "implementation failed: see [file join $out project] (impl_1/runme.log)"
    }
    open_run impl_1
    report_timing_summary -max_paths 10 -file [file join $out timing_summary.rpt]
    report_utilization -file [file join $out utilization.rpt]
    report_utilization -hierarchical -file [file join $out utilization_hierarchical.rpt]
    set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
    puts "zynqflow: worst setup slack $wns ns at [dict get $p actual_mhz] MHz"
    if {$wns < 0 && ![dict get $opts allow_timing_failure]} {
        error "timing not met (WNS $wns ns): see [file join $out timing_summary.rpt]; lower -fclk_mhz or pass -allow_timing_failure 1"
    }

    set bit [file join $out zynqflow-$name.bit]
    write_bitstream -force $bit
    write_hw_platform -fixed -include_bit -force -file [file join $out zynqflow-$name.xsa]
    zynqflow::bin $board $bit
    set f [open [file join $out build-summary.txt] w]
    puts $f "board [dict get $board name]\npart [dict get $board part]\nfclk_mhz [dict get $p actual_mhz]\nwns_ns $wns"
    puts $f "reg_base [dict get $board reg_base]\nreg_range [dict get $board reg_range]\nbitstream $bit"
    close $f
    puts "zynqflow: wrote $bit and the reports in $out"
}

# The FPGA manager's format: a .bit.bin from bootgen (byte order as the
# Zynq-7000 driver expects; the ZynqMP PMU firmware takes it too). bootgen
# ships with Vivado; without it, a note with the command.
proc zynqflow::bin {board bit} {
    set arch [expr {[dict get $board ps] eq "ps7" ? "zynq" : "zynqmp"}]
    set dir [file dirname $bit]
    set bif [file join $dir zynqflow.bif]
    set f [open $bif w]
    puts $f "all:\n{\n  [file tail $bit]\n}"
    close $f
    set cmd [list bootgen -image zynqflow.bif -arch $arch -process_bitstream bin -w on]
    if {[auto_execok bootgen] eq ""} {
        set note [file join $dir BIN-NOTE.txt]
        set f [open $note w]
        puts $f "bootgen was not on PATH: make the FPGA manager's .bit.bin with\n  cd $dir && [join $cmd { }]"
        close $f
        puts "zynqflow: bootgen not found, see $note"
        return
    }
    set here [pwd]
    cd $dir
    exec {*}$cmd
    cd $here
    puts "zynqflow: wrote $bit.bin"
}
