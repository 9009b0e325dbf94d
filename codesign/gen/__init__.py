"""codesign.gen"""
