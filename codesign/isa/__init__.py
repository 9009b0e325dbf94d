"""codesign.isa"""
