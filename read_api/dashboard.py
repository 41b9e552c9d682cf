"""The dashboard page at /dashboard, for analysts and admins: KPIs, sales, top products,
the order funnel, low-stock alerts and projection lag, from the analyst API, kept live by
the change stream.

The page is static (read_api/dashboard/, package data): its script reads what it needs
from two <meta> tags this route fills in, so it needs no inline script. Its charting
library is plotly.js from the installed `plotly` package, served from here: no CDN.
"""

from dataclasses import dataclass
from html import escape
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from runtime.deps import SettingsDep
from runtime.problems import ProblemError
from runtime.secure_headers import dashboard_content_security_policy
from runtime.settings import Mode, Settings

PAGE_PATH = "/dashboard"
ASSETS_PATH = "/dashboard/assets"
PAGE_FILES = Path(__file__).with_name("dashboard")
PLOTLY_VERSION = version("plotly")
# plotly.js never changes under a URL that names the package's version: cached for a year.
# Our own files change with the code under the same URL: revalidated (ETag) on every load.
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Asset:
    path: Path
    media_type: str
    cache_control: str


ASSETS = {
    "dashboard.js": Asset(PAGE_FILES / "dashboard.js", "text/javascript", REVALIDATE),
    "dashboard.css": Asset(PAGE_FILES / "dashboard.css", "text/css", REVALIDATE),
    "plotly.min.js": Asset(Path(str(files("plotly") / "package_data" / "plotly.min.js")),
                           "text/javascript", LONG_CACHE),
}

router = APIRouter(include_in_schema=False)


def sign_in_base(settings: Settings) -> str:
    """The command API's base URL, where the page signs in: its own origin ("") embedded."""
    if settings.mode is Mode.EMBEDDED:
        return ""
    return (settings.command_api_url
            or f"http://{settings.host}:{settings.command_api_port}").rstrip("/")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def page_html(root: str, sign_in: str) -> str:
    """The page, its asset URLs under `root` (the app's root path) and its sign-in base."""
    template = (PAGE_FILES / "index.html").read_text(encoding="utf-8")
    assets = root + ASSETS_PATH
    return (template.replace("{{assets}}", escape(assets))
            .replace("{{plotly_version}}", escape(PLOTLY_VERSION))
            .replace("{{api_root}}", escape(root))
            .replace("{{sign_in}}", escape(sign_in)))


@router.get(PAGE_PATH, response_class=HTMLResponse)
async def dashboard(request: Request, settings: SettingsDep) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    sign_in = sign_in_base(settings)
    return HTMLResponse(page_html(root, sign_in), headers={
        "Content-Security-Policy": dashboard_content_security_policy(_origin(sign_in)),
        "Cache-Control": REVALIDATE,
    })


@router.get(ASSETS_PATH + "/{name}")
async def asset(name: str) -> FileResponse:
    found = ASSETS.get(name)
    if found is None:
        raise ProblemError(404, "not-found", f"The dashboard has no file {name!r}")
    return FileResponse(found.path, media_type=found.media_type,
                        headers={"Cache-Control": found.cache_control})
