"""The read benchmarks' baseline: a bare Starlette app answering every GET with fixed bytes.

Run as `python -m bench.bare_app PORT BODY_FILE CONTENT_TYPE`; served by uvicorn exactly as
`tanqory read-api` is (one worker, `uvicorn.run` with the same options), so the two differ
only in what the app does per request.
"""

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def bare_app(body: bytes, content_type: str) -> Starlette:
    async def product(_request: Request) -> Response:
        return Response(body, media_type=content_type)

    async def health(_request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/api/v1/products/{product_id}", product),
                             Route("/health", health)])


def main(argv: list[str]) -> None:
    port, body_file, content_type = int(argv[0]), Path(argv[1]), argv[2]
    app = bare_app(body_file.read_bytes(), content_type)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main(sys.argv[1:])
