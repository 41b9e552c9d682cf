"""A limit on the size of request bodies: 413 problem+json past it, never a 5xx."""

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.problems import problem_response


class BodyTooLarge(Exception):
    """Raised to the app by `receive` once the body has grown past the limit."""


class BodyLimitMiddleware:
    """Answers 413 to a request whose body is larger than `max_body_bytes`.

    A declared Content-Length over the limit is refused before any of the body is read.
    A body without one (chunked) is counted as the app receives it: past the limit, the
    app's `receive` raises `BodyTooLarge`, whatever the app answers then is dropped, and
    the client gets a 413 (unless the app had already started its response, which then
    ends as it can).
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = _content_length(headers)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        if declared is not None or "transfer-encoding" not in headers:
            # The server reads no more than a declared length, and a request with neither
            # header has no body (RFC 9112, 6.3): only a chunked body needs counting.
            await self.app(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a body it could not read: replaced by a 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            Request(scope), 413, "payload-too-large",
            f"The request body is larger than the limit of {self.max_body_bytes} bytes",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)
