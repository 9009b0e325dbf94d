"""codesign.gen.rtl"""
