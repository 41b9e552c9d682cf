"""README.md says what the code has: every setting, every route, every command, both ways."""

import json
import re
from pathlib import Path
from typing import Any

import typer.main
from pydantic import SecretStr

from runtime.http import create_api
from runtime.settings import Settings
from tanqory.cli import app as cli_app
from tanqory.wiring import include_routers

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CODE = re.compile(r"`([^`]*)`")
VARIABLE = re.compile(r"TANQORY_[A-Z0-9_]+(?:/[A-Z0-9_]+)*")

# Read by the scripts only, not by the platform (so not in Settings).
SCRIPT_VARIABLES = {
    "TANQORY_KEEP_SERVICES", "TANQORY_BOOTSTRAP_PYTHON", "TANQORY_PYTHON",
    "TANQORY_SERVICES_DIR", "TANQORY_SERVICES_TIMEOUT", "TANQORY_REDIS_PORT",
    "TANQORY_MONGO_PORT", "TANQORY_KAFKA_PORT", "TANQORY_KAFKA_CONTROLLER_PORT",
    "TANQORY_CLICKHOUSE_HTTP_PORT", "TANQORY_FERRETDB_BIN", "TANQORY_FERRETDB_DEBUG_ADDR",
    "TANQORY_STRIPE_MOCK_PORT",
}
# Served by every API but not the API's own: Swagger UI's OAuth2 redirect page.
UNDOCUMENTED = re.compile(r"GET /(api/)?docs/oauth2-redirect")


def section(title: str) -> str:
    """README's `## title` section, up to the next one."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README,
                      re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section {title!r}"
    return match.group(1)


def rows(text: str) -> list[list[str]]:
    """The cells of every table row of `text`; headers (the lines above a rule) left out."""
    lines = text.splitlines()
    rule = re.compile(r"\|[-| ]+\|")
    found = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or rule.fullmatch(line):
            continue
        if i + 1 < len(lines) and rule.fullmatch(lines[i + 1]):
            continue  # a header
        found.append([c.strip().replace("\\|", "|")
                      for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return found


def expand(name: str) -> list[str]:
    """`TANQORY_POSTGRES_HOST/PORT` → `TANQORY_POSTGRES_HOST`, `TANQORY_POSTGRES_PORT`."""
    first, *others = name.split("/")
    prefix = first.rsplit("_", 1)[0]
    return [first, *(f"{prefix}_{other}" for other in others)]


def configuration() -> list[tuple[list[str], list[str]]]:
    """(variables, the defaults' code spans) of every row in the configuration tables."""
    table = []
    for cells in rows(section("Configuration")):
        names = [n for span in CODE.findall(cells[0]) for n in expand(span)
                 if VARIABLE.fullmatch(span)]
        assert names, f"a configuration row names no variable: {cells}"
        table.append((names, CODE.findall(cells[1])))
    return table


DOCUMENTED = {name for names, _ in configuration() for name in names}
SETTINGS = {f"TANQORY_{name.upper()}" for name in Settings.model_fields}


def scripts_text() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "scripts").rglob("*")) if p.is_file()
                     and p.suffix in {".sh", ""})


def test_every_setting_is_in_the_configuration_table() -> None:
    assert SETTINGS - DOCUMENTED == set(), "add a row to README.md's configuration table"


def test_the_configuration_table_names_only_settings_or_what_the_scripts_read() -> None:
    assert DOCUMENTED - SETTINGS - SCRIPT_VARIABLES == set(), "no such setting"
    assert SCRIPT_VARIABLES & SETTINGS == set()
    scripts = scripts_text()
    for name in SCRIPT_VARIABLES:
        assert name in DOCUMENTED, f"README.md does not document {name}"
        assert name in scripts, f"no script reads {name}: drop it from SCRIPT_VARIABLES"


def test_every_variable_the_scripts_read_is_a_setting_or_documented() -> None:
    read = set(re.findall(r"\$\{?(TANQORY_[A-Z0-9_]+)", scripts_text()))
    assert read - SETTINGS - SCRIPT_VARIABLES == set(), (
        "a script reads a variable README.md does not document")


def shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_defaults_in_the_configuration_table_are_the_settings_defaults() -> None:
    checked = 0
    for names, defaults in configuration():
        if len(names) != len(defaults) or not set(names) <= SETTINGS:
            continue  # described in words (a secret, "empty"), or read by scripts
        for name, default in zip(names, defaults, strict=True):
            field = Settings.model_fields[name.removeprefix("TANQORY_").lower()]
            assert default == shown(field.default), f"{name}: README says {default}"
            checked += 1
    assert checked > len(SETTINGS) / 2


# --- the HTTP API -------------------------------------------------------------------------


def normalised(method: str, path: str) -> str:
    """`GET /a/{product_id}` and `GET /a/{id or slug}` → `GET /a/{}`."""
    return method + " " + re.sub(r"\{[^}]*\}", "{}", path)


def flatten(routes: Any, prefix: str = "") -> set[str]:
    """Method and path of every route, into included routers too."""
    found = set()
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            context = getattr(route, "include_context", None)
            found |= flatten(route.original_router.routes,
                             prefix + (getattr(context, "prefix", "") or ""))
        elif getattr(route, "methods", None):
            found |= {normalised(m, prefix + route.path) for m in route.methods if m != "HEAD"}
    return found


def app_routes() -> set[str]:
    """What the APIs serve: the operational routes of every API, and each context's routers
    (as `tanqory serve` includes them)."""
    api = create_api("routes", Settings(), {}, rate_limit_storage_uri="async+memory://")
    include_routers(api, commands=True, queries=True)
    return {route for route in flatten(api.routes) if not UNDOCUMENTED.fullmatch(route)}


def test_every_route_in_the_readme_exists_and_every_route_is_in_the_readme() -> None:
    documented, served = readme_routes(), app_routes()
    assert {"GET /health", "GET /ready", "GET /metrics", "GET /api/docs"} <= served
    assert documented - served == set(), "README.md documents routes no API serves"
    assert served - documented == set(), "add these routes to README.md's HTTP API table"


def readme_routes() -> set[str]:
    """README's HTTP API table: `POST /api/v1/products/{id}/activate`, `/deactivate` names
    two routes (a later path is a sibling of the first's last segment), while
    `GET /health`, `/ready` names two roots."""
    found = set()
    for cells in rows(section("HTTP API")):
        spans = CODE.findall(cells[0])
        first = re.fullmatch(r"([A-Z]+) (/.*)", spans[0]) if spans else None
        assert first, f"an HTTP API row starts with no method and path: {cells[0]}"
        method, path = first.groups()
        path = path.split("?")[0]
        found.add(normalised(method, path))
        parent = path.rsplit("/", 1)[0]
        for span in spans[1:]:
            span = span.split("?")[0]
            assert span.startswith("/"), f"not a path in the HTTP API table: {span}"
            found.add(normalised(method, f"{parent}{span}" if parent.startswith("/api/v1/")
                                 else span))
    return found


# --- the CLI ------------------------------------------------------------------------------


def cli_commands(group: Any, prefix: tuple[str, ...] = ()) -> set[str]:
    """The leaf commands of the typer app's click tree (`dlq list`, not `dlq`)."""
    found = set()
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= cli_commands(command, (*prefix, name))
        else:
            found.add(" ".join((*prefix, name)))
    return found


def readme_commands(group: Any) -> set[str]:
    """README's CLI table: `tanqory dlq list [--pending]` → `dlq list`; the plain words after
    a row's first command (`relay`, `worker`) are its siblings."""
    found = set()
    for cells in rows(section("CLI")):
        spans = CODE.findall(cells[0])
        if not spans or not spans[0].startswith("tanqory "):
            continue  # another program, such as `python -m bench`
        words, node = [], group
        for word in spans[0].split()[1:]:
            if not hasattr(node, "commands") or word not in node.commands:
                break
            words.append(word)
            node = node.commands[word]
        assert words, f"README.md's CLI table names no command of the app: {spans[0]}"
        found.add(" ".join(words))
        for sibling in spans[1:]:
            if re.fullmatch(r"[a-z][a-z-]*", sibling):
                found.add(" ".join((*words[:-1], sibling)))
    return found


def test_every_command_in_the_readme_exists_and_every_command_is_in_the_readme() -> None:
    group = typer.main.get_group(cli_app)
    documented, existing = readme_commands(group), cli_commands(group)
    assert documented - existing == set(), "README.md documents commands the CLI lacks"
    assert existing - documented == set(), "add these commands to README.md's CLI table"


def test_the_services_row_names_every_verb_of_the_script() -> None:
    usage = (ROOT / "scripts" / "services.sh").read_text()
    verbs = set(re.findall(r"^#\s+scripts/services\.sh (\w+)", usage, re.MULTILINE))
    row = next(c[0] for c in rows(section("CLI")) if "tanqory services" in c[0])
    listed = re.search(r"tanqory services (\w+(?:\|\w+)+)", row)
    assert listed and set(listed.group(1).split("|")) == verbs, row
