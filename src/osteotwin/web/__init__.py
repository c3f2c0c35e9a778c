"""osteotwin.web"""
