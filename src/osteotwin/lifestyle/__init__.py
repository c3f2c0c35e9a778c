"""osteotwin.lifestyle"""
