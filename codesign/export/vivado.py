"""Vivado TCL: the RTL-kernel packaging flow (``package_xo``), clock constraints, and block designs
for the embedded (Zynq UltraScale+) and Versal V80 (AVED) boards.

Written for Vivado 2023.2. Every script takes its file list, part, top and clock from Python
variables set at the top of the script, so ``codesign.export.tclcheck`` can check them.
"""

from __future__ import annotations

from ..design import Design
from .boards import Board

VIVADO_VERSION = "2023.2"


def _tcl_list(items: list[str]) -> str:
    return "[list " + " ".join(f"{{{i}}}" for i in items) + "]"


def clock_xdc(design: Design, port: str = "ap_clk") -> str:
    period = 1000.0 / design.hw.freq_mhz
    return (f"# Kernel clock: {design.hw.freq_mhz} MHz (design.json hw.freq_mhz)\n"
            f"create_clock -period {period:.3f} -name {port} [get_ports {port}]\n")


def package_xo_tcl(top: str, board: Board, rtl_files: list[str], bundles: list[str],
                   registers: list[tuple[str, int, int, str]]) -> str:
    """Package the Verilog top as a Vitis RTL kernel (.xo).

    ``registers``: (name, offset, bits, associated m_axi bundle or "") of the s_axi_control map,
    as the RTL top implements it (Vitis HLS layout: 0x00 control, 0x04 GIE, 0x08 IER, 0x0C ISR).
    """
    regs = []
    for name, offset, bits, bundle in registers:
        regs.append(f"set reg [ipx::add_register -quiet {name} $block]")
        regs.append(f"set_property address_offset 0x{offset:03X} $reg")
        regs.append(f"set_property size {bits} $reg")
        if bundle:
            regs.append("set_property value_resolve_type user [ipx::add_register_parameter -quiet ASSOCIATED_BUSIF $reg]")
            regs.append(f"set_property value m_axi_{bundle} [ipx::get_register_parameters ASSOCIATED_BUSIF -of_objects $reg]")
    busifs = "\n".join(f"ipx::associate_bus_interfaces -busif m_axi_{b} -clock ap_clk $core" for b in bundles)
    return f"""# Package the codesign Verilog processor as a Vitis RTL kernel (Vivado {VIVADO_VERSION}).
# vivado -mode batch -source rtl/package_xo.tcl -tclargs <output.xo>
set top {top}
set part {board.part}
set here [file dirname [file normalize [info script]]]
set xo_path [expr {{[llength $argv] > 0 ? [lindex $argv 0] : [file join $here .. build {top}.xo]}}]
set rtl_files {_tcl_list(rtl_files)}

create_project -force kernel_pack [file join $here .. build kernel_pack] -part $part
foreach f $rtl_files {{ add_files -norecurse [file join $here $f] }}
add_files -fileset constrs_1 -norecurse [file join $here clock.xdc]
set_property top $top [current_fileset]
update_compile_order -fileset sources_1

set ip_dir [file join $here .. build ip]
ipx::package_project -root_dir $ip_dir -vendor codesign.org -library kernel -taxonomy /KernelIP -import_files -set_current false
ipx::unload_core [file join $ip_dir component.xml]
ipx::edit_ip_in_project -upgrade true -name edit_ip -directory $ip_dir [file join $ip_dir component.xml]
set core [ipx::current_core]
set_property sdx_kernel true $core
set_property sdx_kernel_type rtl $core
set_property ipi_drc {{ignore_freq_hz false}} $core
{busifs}
ipx::associate_bus_interfaces -busif s_axi_control -clock ap_clk $core
set map [ipx::add_memory_map -quiet s_axi_control $core]
set_property slave_memory_map_ref s_axi_control [ipx::get_bus_interfaces -of_objects $core s_axi_control]
set block [ipx::add_address_block -quiet reg0 $map]
set_property range 0x1000 $block
{chr(10).join(regs)}
ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity -kernel $core
ipx::save_core $core
close_project -delete
package_xo -force -xo_path $xo_path -kernel_name $top -ip_directory $ip_dir -ctrl_protocol ap_ctrl_hs
"""


def embedded_bd_tcl(top: str, board: Board, design: Design, bundles: list[str], rtl_files: list[str]) -> str:
    """Zynq UltraScale+ block design: PS + the kernel; control on HPM0, each m_axi on its own HP port."""
    hp_ports = ["S_AXI_HP0_FPD", "S_AXI_HP1_FPD", "S_AXI_HP2_FPD", "S_AXI_HP3_FPD"]
    enables = {"S_AXI_HP0_FPD": "PSU__USE__S_AXI_GP2", "S_AXI_HP1_FPD": "PSU__USE__S_AXI_GP3",
               "S_AXI_HP2_FPD": "PSU__USE__S_AXI_GP4", "S_AXI_HP3_FPD": "PSU__USE__S_AXI_GP5"}
    conns, used = [], []
    for i, b in enumerate(bundles):
        hp = hp_ports[i % len(hp_ports)]
        if hp not in used:
            used.append(hp)
        conns.append(
            f"apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config "
            f"[list Clk_master {{/zynq_ps/pl_clk0}} Clk_slave {{/zynq_ps/pl_clk0}} Clk_xbar {{/zynq_ps/pl_clk0}} "
            f"Master {{/kernel/m_axi_{b}}} Slave {{/zynq_ps/{hp}}} intc_ip {{Auto}} master_apm {{0}}] "
            f"[get_bd_intf_pins zynq_ps/{hp}]")
    ps_cfg = " ".join(f"CONFIG.{enables[hp]} {{1}}" for hp in used)
    return f"""# Vivado {VIVADO_VERSION} block design for {board.name}: Zynq UltraScale+ PS + the codesign processor.
# vivado -mode batch -source bd.tcl   (writes the bitstream and an .xsa for PetaLinux/Vitis)
set top {top}
set part {board.part}
set board_part {board.board_part}
set freq_mhz {design.hw.freq_mhz}
set here [file dirname [file normalize [info script]]]
set rtl_files {_tcl_list(rtl_files)}

create_project -force codesign_{board.name} [file join $here build] -part $part
set_property board_part $board_part [current_project]
foreach f $rtl_files {{ add_files -norecurse [file join $here .. rtl $f] }}
update_compile_order -fileset sources_1
create_bd_design system
create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e zynq_ps
apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {{apply_board_preset "1"}} [get_bd_cells zynq_ps]
set_property -dict [list CONFIG.PSU__USE__M_AXI_GP0 {{1}} {ps_cfg} CONFIG.PSU__FPGA_PL0_ENABLE {{1}} CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $freq_mhz] [get_bd_cells zynq_ps]
create_bd_cell -type module -reference $top kernel
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list Clk_master {{/zynq_ps/pl_clk0}} Clk_slave {{/zynq_ps/pl_clk0}} Clk_xbar {{/zynq_ps/pl_clk0}} Master {{/zynq_ps/M_AXI_HPM0_FPD}} Slave {{/kernel/s_axi_control}} intc_ip {{New AXI Interconnect}} master_apm {{0}}] [get_bd_intf_pins kernel/s_axi_control]
{chr(10).join(conns)}
assign_bd_address
validate_bd_design
save_bd_design
make_wrapper -files [get_files system.bd] -top
add_files -norecurse [file join $here build codesign_{board.name}.gen sources_1 bd system hdl system_wrapper.v]
set_property top system_wrapper [current_fileset]
add_files -fileset constrs_1 -norecurse [file join $here .. rtl clock.xdc]
launch_runs impl_1 -to_step write_bitstream -jobs 8
wait_on_run impl_1
write_hw_platform -fixed -include_bit -force [file join $here build codesign_{board.name}.xsa]
"""


def aved_tcl(top: str, board: Board, design: Design, bundles: list[str], rtl_files: list[str]) -> str:
    """Versal V80: add the kernel to the AVED example design's block design, HBM through the NoC."""
    nmi = "\n".join(
        f"connect_bd_intf_net [get_bd_intf_pins kernel/m_axi_{b}] [get_bd_intf_pins axi_noc_kernel/S{i:02d}_AXI]"
        for i, b in enumerate(bundles))
    return f"""# Vivado {VIVADO_VERSION}: add the codesign processor to the AMD AVED V80 example design ({board.platform}).
# Run inside the AVED hw/{board.platform}/src flow after create_bd_design.tcl:
#   vivado -mode batch -source create_design.tcl -source <this file>
set top {top}
set part {board.part}
set freq_mhz {design.hw.freq_mhz}
set here [file dirname [file normalize [info script]]]
set rtl_files {_tcl_list(rtl_files)}
foreach f $rtl_files {{ add_files -norecurse [file join $here .. rtl $f] }}
update_compile_order -fileset sources_1
create_bd_cell -type module -reference $top kernel
create_bd_cell -type ip -vlnv xilinx.com:ip:axi_noc axi_noc_kernel
set_property -dict [list CONFIG.NUM_SI {len(bundles)} CONFIG.NUM_MI {{0}} CONFIG.NUM_HBM_BLI {{0}} CONFIG.HBM_NUM_CHNL {design.hw.weight_channels + design.hw.kv_channels}] [get_bd_cells axi_noc_kernel]
{nmi}
assign_bd_address
validate_bd_design
save_bd_design
"""
