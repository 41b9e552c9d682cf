"""`tanqory <command> --help` as a user reads it: every command and subcommand answers, says
all its docstring says (nothing lost to markup, no sentence broken by the source's line
breaks) and names the settings it needs."""

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from runtime.settings import Settings
from tanqory.cli import app
from tests.support.processes import run_cli

ROOT = Path(__file__).resolve().parents[2]
BOX = re.compile(r"[│╭╮╰╯─]")
POSTGRES = "TANQORY_POSTGRES_HOST/PORT/USER/PASSWORD/DB"
SERVER_MODE = "TANQORY_MODE is set to server"

# What each command's help must name (besides its whole docstring).
NAMED: dict[str, list[str]] = {
    "serve": ["TANQORY_HOST", "TANQORY_PORT", "TANQORY_DATA_DIR", "TANQORY_MODE",
              str(Settings.model_fields["port"].default),
              str(Settings.model_fields["data_dir"].default)],
    "command-api": [SERVER_MODE, "PostgreSQL", POSTGRES, "Redis", "TANQORY_REDIS_URL",
                    "TANQORY_JWT_SECRET", "TANQORY_STRIPE_WEBHOOK_SECRET", "TANQORY_COMMAND_API_PORT",
                    str(Settings.model_fields["command_api_port"].default)],
    "read-api": [SERVER_MODE, "TANQORY_READ_STORE", "TANQORY_MONGO_URI", "TANQORY_MONGO_DB", "Redis",
                 "TANQORY_REDIS_URL", "PostgreSQL", POSTGRES, "as_of", "TANQORY_JWT_SECRET",
                 "TANQORY_READ_API_PORT", "ClickHouse",
                 "TANQORY_CLICKHOUSE_HOST/PORT/DB/USER/PASSWORD",
                 str(Settings.model_fields["read_api_port"].default)],
    "relay": [SERVER_MODE, "PostgreSQL", POSTGRES, "Kafka", "TANQORY_KAFKA_BOOTSTRAP",
              "Redis", "TANQORY_REDIS_URL"],
    "worker": [SERVER_MODE, "Kafka", "TANQORY_KAFKA_BOOTSTRAP", "TANQORY_READ_STORE", "TANQORY_MONGO_URI",
               "ClickHouse", "TANQORY_CLICKHOUSE_HOST/PORT/DB/USER/PASSWORD", "Redis",
               "TANQORY_REDIS_URL", "TANQORY_WORKER_ID"],
    "sagas": [SERVER_MODE, "Kafka", "TANQORY_KAFKA_BOOTSTRAP", "PostgreSQL", POSTGRES,
              "TANQORY_WORKER_ID", "TANQORY_PAYMENT_DEADLINE_SECONDS", "TANQORY_STRIPE_API_KEY",
              "TANQORY_STRIPE_API_BASE"],
    "notifier": [SERVER_MODE, "Kafka", "PostgreSQL", "TANQORY_SMTP_*", "TANQORY_MAIL_FROM",
                 "TANQORY_ACCOUNT_SECRET", "TANQORY_ACCOUNT_LINKS_URL", "TANQORY_WORKER_ID"],
    "customers roles": ["TANQORY_MODE", "TANQORY_DATA_DIR", "PostgreSQL", "--role admin"],
    "verify": ["TANQORY_MODE", "embedded", "TANQORY_DATA_DIR", "server", "PostgreSQL",
               "MongoDB", "ClickHouse"],
    "token": ["TANQORY_JWT_SECRET", "TANQORY_TOKEN_TTL_SECONDS",
              str(Settings.model_fields["token_ttl_seconds"].default)],
    "history": ["TANQORY_MODE", "ClickHouse", "TANQORY_CLICKHOUSE_*", "embedded",
                "TANQORY_DATA_DIR", "tanqory serve", "TANQORY_JWT_SECRET", "--unseal",
                "Exits 2", "1 when"],
    "replay": ["TANQORY_MODE", "TANQORY_DATA_DIR", "tanqory serve", "PostgreSQL", POSTGRES,
               "TANQORY_MONGO_URI", "TANQORY_REDIS_URL", "TANQORY_KAFKA_BOOTSTRAP", "Exits 1"],
    "rebuild": ["TANQORY_MODE", "TANQORY_DATA_DIR", "tanqory serve",
                "TANQORY_READ_MODEL_SWITCH_SECONDS", "--drop-old", "--abandon", "Exits 1"],
    "dlq list": ["TANQORY_MODE", "TANQORY_DATA_DIR", "Kafka", "TANQORY_KAFKA_BOOTSTRAP"],
    "dlq retry": ["TANQORY_MODE", "TANQORY_DATA_DIR", "Kafka", "tanqory serve"],
    "services": ["[name]", "scripts/services.sh", "stripe-mock"],
    "payments webhook": ["TANQORY_MODE", "TANQORY_STRIPE_WEBHOOK_SECRET", "TANQORY_HOST",
                         "TANQORY_PORT", "TANQORY_COMMAND_API_PORT", "stripe trigger"],
}


def is_group(command: Any) -> bool:
    return hasattr(command, "commands")  # typer carries its own copy of click's classes


def commands(group: Any, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every command and subcommand of the app (its click tree), by words (`dlq list`)."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        found[" ".join((*prefix, name))] = command
        if is_group(command):
            found.update(commands(command, (*prefix, name)))
    return found


COMMANDS = commands(typer.main.get_group(app))


def services_verbs() -> list[str]:
    """The verbs scripts/services.sh's usage text lists."""
    usage = (ROOT / "scripts" / "services.sh").read_text()
    return re.findall(r"^#\s+scripts/services\.sh (\w+)", usage, re.MULTILINE)


def flat(text: str) -> str:
    """Text as read: no panel borders, no code marks, one space between words."""
    return " ".join(BOX.sub(" ", text).replace("`", "").split())


def paragraphs(command: Any) -> list[str]:
    return [flat(p) for p in (command.help or "").split("\f")[0].split("\n\n") if p.strip()]


def help_of(words: str, width: int | None = None) -> str:
    env = {"COLUMNS": str(width)} if width else {}
    result = run_cli(*words.split(), "--help", **env)
    assert result.returncode == 0, result.stderr
    assert not result.stderr, result.stderr
    return result.stdout


def test_every_command_is_covered() -> None:
    leaves = {w for w, c in COMMANDS.items() if not is_group(c)}
    assert leaves == set(NAMED), "name what each command's help must say in NAMED"


@pytest.mark.parametrize("words", sorted(COMMANDS))
def test_help_says_the_whole_docstring_and_the_settings(words: str) -> None:
    command = COMMANDS[words]
    assert command.help, f"tanqory {words} has no help"
    # Wide enough never to wrap: any line break inside a paragraph came from the source.
    wide = [flat(line) for line in help_of(words, width=2000).splitlines()]
    for paragraph in paragraphs(command):
        assert any(paragraph in line for line in wide), (
            f"`tanqory {words} --help` breaks or loses:\n{paragraph}\n---\n" + "\n".join(wide))
    shown = flat(help_of(words))  # at the default width of a non-terminal
    for paragraph in paragraphs(command):
        assert paragraph in shown
    for name in NAMED.get(words, []):
        assert name in shown, f"`tanqory {words} --help` does not name {name}"


@pytest.mark.parametrize("group", ["", "dlq"])
def test_command_lists_show_each_first_paragraph_on_one_line(group: str) -> None:
    wide = [flat(line) for line in help_of(group, width=2000).splitlines()]
    listed = {w: c for w, c in COMMANDS.items()
              if w.rpartition(" ")[0] == group}
    assert listed
    for words, command in listed.items():
        first = paragraphs(command)[0]
        assert any(line.startswith(f"{words.rpartition(' ')[2]} {first}") for line in wide), (
            f"the list of `tanqory {group} --help` breaks or loses {words}:\n{first}")


def test_services_help_names_every_verb_of_the_script() -> None:
    verbs = services_verbs()
    assert {"up", "down", "status", "env", "pid", "reset"} <= set(verbs)
    shown = flat(help_of("services"))
    usage = re.search(r"(\w+(?:\|\w+)+) \[name\]", shown)
    assert usage, shown
    assert set(usage.group(1).split("|")) == set(verbs)
