"""codesign.search"""
