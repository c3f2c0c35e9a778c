"""Twins of one patient fitted to her own measurements (``osteotwin.twin.personal``)."""
