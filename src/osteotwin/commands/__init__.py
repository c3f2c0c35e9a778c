"""Command families of the ``osteotwin`` CLI, one module each (see ``osteotwin.cli``)."""
