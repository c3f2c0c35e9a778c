"""osteotwin.physiology"""
