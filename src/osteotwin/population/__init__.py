"""osteotwin.population"""
