"""The one error type for bad user input, shared by every part and interface.

The CLI turns it into exit code 2 and one line on stderr; the web API into HTTP 422.
"""

from __future__ import annotations


class InputError(ValueError):
    """Input that is refused: names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r}: {allowed}")
