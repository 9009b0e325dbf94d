sfu_tables.v
sfu_len.v
sfu_div.v
sfu_add.v
sfu_quant.v
sfu_rope.v
sfu_swiglu.v
sfu_top.v
