"""The one exception type of the wire codec: a request the server must answer with an error code."""

from __future__ import annotations

from .codes import STANDARD_MESSAGES, ResponseCode, check_code


class WireError(Exception):
    """A client request that cannot be served; ``code`` is the Kumulos response code to send.

    ``message`` goes to the client verbatim as ``responseMessage``, so it must never carry
    internals (stack traces, SQL); by default it is the standard text for the code.
    """

    code: int
    message: str

    def __init__(
        self, code: int = ResponseCode.INVALID_REQUEST, message: str | None = None
    ) -> None:
        code = check_code(code)
        if code == ResponseCode.SUCCESS:
            raise ValueError("WireError cannot carry the success code")
        self.code = code
        self.message = message if message is not None else STANDARD_MESSAGES[code]
        super().__init__(code, self.message)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"
