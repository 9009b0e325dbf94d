"""codesign.quant"""
