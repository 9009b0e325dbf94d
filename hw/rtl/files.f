# processor core sources in compile order (paths relative to this file); the SFU blocks come
# from sfu/files.f (the SFU helper's list), read before these
mpe.v
axi_read_master.v
axi_write_master.v
axil_control.v
stream_unpack.v
stream_pack.v
codesign_core.v
codesign_top.v
