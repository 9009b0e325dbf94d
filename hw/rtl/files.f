# processor core sources in compile order (paths relative to this file); the SFU blocks come
# from sfu/files.f (the SFU helper's list), read before these. Headers (.vh) are `included by the
# sources, not compiled: builds add their folder to the include path (sim/rtl_build.py).
codesign_isa.vh
codesign_decode.v
sfu_job.v
attn_row.v
mpe.v
weight_beat.v
lane_ram.v
axi_read_master.v
axi_write_master.v
axil_control.v
stream_unpack.v
stream_pack.v
codesign_core.v
codesign_top.v
