"""The page at `/`: what this API is and where to look next, for a person with a browser."""

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

# (path, what it is); a listing shows only on an app that serves it (in server mode the
# command API serves no listing, the read API does).
OPERATIONS = [
    ("/api/docs", "API docs (Swagger UI): every route, with a form to try it"),
    ("/health", "Health: liveness, uptime and version"),
    ("/ready", "Ready: every dependency, and how far the projections lag"),
]
LISTINGS = [
    ("/api/v1/products", "Products: the catalog, paginated (?search=, ?category=, ?sort=)"),
    ("/api/v1/categories", "Categories"),
]
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#222}code{background:#f3f3f3;padding:0 .25rem}"
    "li{margin:.3rem 0}"
)


def _serves_get(request: Request, path: str) -> bool:
    """Whether the app answers GET `path` (as its OpenAPI schema, built once, says)."""
    return "get" in request.app.openapi().get("paths", {}).get(path, {})


def landing_html(title: str, version: str, links: list[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>'
                      for href, text in links)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n<p>Version {escape(version)}. Reads are open to anyone; "
        "writes need a bearer token with a role, which <code>tanqory token --role "
        "product_manager</code> prints (<code>.venv/bin/tanqory</code> in a checkout).</p>\n"
        f"<ul>\n{items}\n</ul>\n</body>\n</html>\n"
    )


def landing_router(title: str, version: str) -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def landing(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        links = [*OPERATIONS, *((p, t) for p, t in LISTINGS if _serves_get(request, p))]
        return HTMLResponse(landing_html(title, version, [(root + p, t) for p, t in links]))

    return router
