# Stand-in Vivado commands, to check a board's build.tcl without Vivado.
#
#   tclsh bitstreams/common/vivado_stub.tcl LOG [-board_parts PART] BUILD_TCL [-tclargs ARGS...]
#
# Every Vivado command the flow calls is a proc here that appends one line,
# the command and its arguments as a Tcl list, to LOG, and returns a
# plausible value (a fabric clock of the requested frequency, runs at 100%,
# a positive slack). Real Tcl (file, open, puts, dict, ...) runs for real, so
# the script's argument checks and the files it writes itself are exercised.
# A Vivado command missing here fails the run ("invalid command name"), so
# the stub stays complete. `-board_parts` names a board part to report as
# installed (default: none, the bare-part branch). tests/bitstreams.rs uses it.

namespace eval stub {
    variable log ""
    variable board_parts {}
    variable fclk_mhz 100
}

proc stub::record {cmd args} {
    variable log
    set f [open $log a]
    puts $f [list $cmd {*}$args]
    close $f
}

# Commands that only record.
foreach cmd {
    create_project set_property add_files update_compile_order create_bd_design
    apply_bd_automation connect_bd_intf_net connect_bd_net assign_bd_address
    validate_bd_design save_bd_design generate_target launch_runs wait_on_run
    open_run report_timing_summary report_utilization write_bitstream
    write_hw_platform
} {
    proc $cmd {args} "stub::record $cmd {*}\$args; return {}"
}

# Commands that return the object they name (the last argument).
foreach cmd {
    create_bd_cell get_bd_cells get_bd_pins get_bd_intf_pins get_bd_addr_spaces
    get_bd_addr_segs get_files get_runs
} {
    proc $cmd {args} "stub::record $cmd {*}\$args; return \[lindex \$args end\]"
}

proc current_project {args} { stub::record current_project {*}$args; return project }
proc current_fileset {args} { stub::record current_fileset {*}$args; return sources_1 }
proc version {args} { return 2023.2 }
proc get_timing_paths {args} { stub::record get_timing_paths {*}$args; return worst_path }

proc get_board_parts {args} {
    stub::record get_board_parts {*}$args
    set want [lindex $args end]
    if {[lsearch -exact $stub::board_parts $want] >= 0} { return $want }
    return ""
}

proc make_wrapper {args} {
    stub::record make_wrapper {*}$args
    return /stub/zynqflow_bd/hdl/zynqflow_bd_wrapper.v
}

# Properties the flow reads back.
proc get_property {name args} {
    stub::record get_property $name {*}$args
    switch -glob -- $name {
        PROGRESS { return 100% }
        SLACK { return 0.250 }
        CONFIG.FREQ_HZ { return [expr {int($stub::fclk_mhz * 1000000)}] }
        CONFIG.*ACT*FREQMHZ { return $stub::fclk_mhz }
        default { return "" }
    }
}

# Entry: LOG [-board_parts PART] BUILD_TCL [-tclargs ARGS...]
if {[llength $argv] < 2} {
    puts stderr "usage: tclsh vivado_stub.tcl LOG \[-board_parts PART\] BUILD_TCL \[-tclargs ARGS...\]"
    exit 2
}
set stub::log [lindex $argv 0]
set rest [lrange $argv 1 end]
if {[lindex $rest 0] eq "-board_parts"} {
    set stub::board_parts [list [lindex $rest 1]]
    set rest [lrange $rest 2 end]
}
set script [lindex $rest 0]
set argv [lrange $rest 1 end]
if {[lindex $argv 0] eq "-tclargs"} { set argv [lrange $argv 1 end] }
set i [lsearch -exact $argv -fclk_mhz]
if {$i >= 0} { set stub::fclk_mhz [lindex $argv [expr {$i + 1}]] }
set argc [llength $argv]
close [open $stub::log w]
if {[catch {source $script} err]} {
    puts stderr "error: $err"
    exit 1
}
