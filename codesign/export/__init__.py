"""codesign.export"""
