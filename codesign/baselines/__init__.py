"""codesign.baselines"""
