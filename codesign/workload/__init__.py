"""codesign.workload"""
