"""codesign.model"""
