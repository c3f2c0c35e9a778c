"""osteotwin.records"""
