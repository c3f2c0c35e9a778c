"""osteotwin: a digital twin of bone for women on aromatase inhibitors."""

__version__ = "0.1.0"
