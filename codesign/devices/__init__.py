"""codesign.devices"""
