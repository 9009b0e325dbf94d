"""codesign.gen.hls"""
