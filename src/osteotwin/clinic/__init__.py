"""osteotwin.clinic"""
