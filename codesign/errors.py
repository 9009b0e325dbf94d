"""One error type for every user-facing failure.

The CLI prints ``str(err)`` as a single line and exits non-zero, so every message
names the offending field and, where it helps, the allowed values.
"""


class CodesignError(Exception):
    """A user-facing error: bad input, infeasible request, missing file."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        text = f"{field}: {message}" if field else message
        # Keep it to one line: the CLI contract is a one-line error.
        super().__init__(" ".join(text.split()))


def require(cond: bool, field: str, message: str) -> None:
    if not cond:
        raise CodesignError(message, field=field)
