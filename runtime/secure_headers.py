"""Helmet-style security headers on every response."""

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:"
)
HSTS = "max-age=31536000; includeSubDomains; preload"
DOCS_PATHS = frozenset({"/api/docs", "/api/docs/oauth2-redirect"})
# The Swagger UI page: its script and stylesheet served by the API itself (from the
# installed swagger-ui-bundle-v2 package, no CDN), and one inline script that starts it.
# The page shows nothing a client sent, so the inline script is allowed there and only there.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:"
)


def dashboard_content_security_policy(sign_in_origin: str | None) -> str:
    """The dashboard page's policy, which the page's own response carries: its script files
    only (no inline script, no eval), its stylesheet and the styles plotly.js writes as it
    draws (<style> rules and style attributes: hence 'unsafe-inline' for styles, never for
    scripts), requests to its own origin and, in server mode, to the command API it signs in
    through (`sign_in_origin`). The JSON API keeps CONTENT_SECURITY_POLICY."""
    connect = " ".join(["'self'", *([sign_in_origin] if sign_in_origin else [])])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; font-src 'self'; connect-src {connect}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def security_headers(hsts: bool) -> list[tuple[str, str]]:
    """Every header but the Content-Security-Policy, which depends on the path."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("X-DNS-Prefetch-Control", "off"),
        ("X-Permitted-Cross-Domain-Policies", "none"),
    ]
    if hsts:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SecureHeadersMiddleware:
    """Adds the security headers a response does not carry already."""

    def __init__(
        self, app: ASGIApp, *, hsts: bool = True, docs_paths: Iterable[str] = DOCS_PATHS
    ) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        common = [(n.lower().encode(), v.encode()) for n, v in security_headers(hsts)]
        csp = b"content-security-policy"
        self.headers = [*common, (csp, CONTENT_SECURITY_POLICY.encode())]
        self.docs_headers = [*common, (csp, DOCS_CONTENT_SECURITY_POLICY.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.docs_headers if scope["path"] in self.docs_paths else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in wanted if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
