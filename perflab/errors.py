"""One exception type whose message is a single line a reader can act on."""


class PerflabError(Exception):
    """A failure the engine explains in one line (unknown id, crash, timeout, missing tool)."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    def __str__(self) -> str:
        head = self.args[0]
        return f"{head}\n{self.detail}" if self.detail else head
