"""The `tanqory` command line: run the platform or one of its processes, issue tokens."""

import asyncio
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError

from runtime.auth import Role, issue_token
from runtime.logs import configure_logging
from runtime.settings import Mode, Settings

T = TypeVar("T")
app = typer.Typer(help="Tanqory Commerce Platform", no_args_is_help=True)
PortOption = Annotated[int | None, typer.Option(help="Port to listen on (default from settings)")]
HostOption = Annotated[str | None, typer.Option(help="Interface to bind (default from settings)")]


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        typer.echo(f"Invalid settings:\n{error}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)
    return settings


@app.command()
def serve(
    port: PortOption = None,
    host: HostOption = None,
    demo: Annotated[bool, typer.Option(help="Seed demo products on start")] = True,
) -> None:
    """Run the whole platform in one process (embedded mode: no external service)."""
    from tanqory.embedded import build_embedded_api
    from tanqory.serve import announce_and_seed

    settings = _settings(mode=Mode.EMBEDDED, port=port, host=host)
    api = build_embedded_api(settings, on_ready=announce_and_seed(settings, demo))
    uvicorn.run(api, host=settings.host, port=settings.port, log_level="warning", lifespan="on")


@app.command("command-api")
def command_api(port: PortOption = None, host: HostOption = None) -> None:
    """Run the command API (server mode)."""
    from tanqory.wiring import build_command_api

    settings = _settings(mode=Mode.SERVER, command_api_port=port, host=host)
    uvicorn.run(build_command_api(settings), host=settings.host, port=settings.command_api_port,
                log_level="warning", lifespan="on")


@app.command("read-api")
def read_api(port: PortOption = None, host: HostOption = None) -> None:
    """Run the read API (server mode)."""
    from tanqory.wiring import build_read_api

    settings = _settings(mode=Mode.SERVER, read_api_port=port, host=host)
    uvicorn.run(build_read_api(settings), host=settings.host, port=settings.read_api_port,
                log_level="warning", lifespan="on")


@app.command()
def relay() -> None:
    """Run the outbox relay: event store → Kafka (server mode)."""
    from tanqory.wiring import run_relay

    settings = _settings(mode=Mode.SERVER)
    asyncio.run(run_relay(settings))


@app.command()
def worker() -> None:
    """Run the Faust worker: Kafka → read models and analytics (server mode)."""
    from tanqory.wiring import run_worker

    settings = _settings(mode=Mode.SERVER)
    sys.argv = [sys.argv[0], "worker"]  # Faust's Worker parses the command line itself
    run_worker(settings)


@app.command()
def sagas() -> None:
    """Run the sagas: events of one context → commands to another (server mode)."""
    from tanqory.wiring import run_saga_worker

    settings = _settings(mode=Mode.SERVER)
    sys.argv = [sys.argv[0], "worker"]  # Faust's Worker parses the command line itself
    run_saga_worker(settings)


@app.command()
def verify() -> None:
    """Rebuild every projection from the event store into fresh stores and compare them with
    the live ones, document by document (exit 1 if any differs)."""
    from tanqory.operations import verify_projections

    verdict = asyncio.run(verify_projections(_settings()))
    for difference in verdict.differences[:100]:
        typer.echo(difference.describe())
    for rejected in verdict.rejected[:100]:
        typer.echo(f"history the projectors refuse: {rejected.event.event_id}: {rejected.reason}")
    counts = ", ".join(f"{model} {n}" for model, n in verdict.documents.items())
    typer.echo(f"rebuilt {verdict.events} events into fresh stores: {counts}")
    if verdict.differences:
        typer.echo(f"{len(verdict.differences)} document(s) differ from the rebuild", err=True)
        raise typer.Exit(1)
    typer.echo("every projection equals a rebuild from the event store")


dlq = typer.Typer(help="Dead letters: events the projectors could not apply.",
                  no_args_is_help=True)
app.add_typer(dlq, name="dlq")


def _or_exit(job: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(job)
    except LookupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None


@dlq.command("list")
def dlq_list(
    pending: Annotated[bool, typer.Option("--pending", help="Only those not yet retried")] = False,
) -> None:
    """Show each dead letter: where it is, whether it was retried, the event and the error."""
    from tanqory.operations import list_dead_letters

    letters = _or_exit(list_dead_letters(_settings()))
    shown = [d for d in letters if not (pending and d.retried)]
    for d in shown:
        status = "retried" if d.retried else "pending"
        typer.echo(f"{d.topic}:{d.partition}:{d.offset}  {d.at:%Y-%m-%d %H:%M:%S}Z  {status}  "
                   f"from {d.source or '?'}\n    {d.event()}\n    error: {d.error}")
    waiting = sum(not d.retried for d in letters)
    typer.echo(f"{len(letters)} dead letter(s), {waiting} not yet retried")


@dlq.command("retry")
def dlq_retry() -> None:
    """Re-drive every dead letter not yet retried through the projectors (once each): in
    server mode re-published to its events topic; in embedded mode handed to the running
    platform (`tanqory serve`), which re-drives it within a second."""
    from tanqory.operations import retry_dead_letters

    settings = _settings()
    retried = _or_exit(retry_dead_letters(settings))
    for d in retried:
        typer.echo(f"re-drove {d.topic}:{d.partition}:{d.offset}: {d.event()}")
    typer.echo(f"re-drove {len(retried)} dead letter(s)")
    if settings.mode is Mode.EMBEDDED and retried:
        typer.echo("(the running tanqory serve applies them within a second)")


@app.command()
def token(
    role: Annotated[list[Role], typer.Option("--role", help="A role; repeat for several")],
    sub: Annotated[str, typer.Option("--sub", help="The subject (user id)")] = "dev-user",
) -> None:
    """Print a signed token for the configured secret (for development and tests)."""
    typer.echo(issue_token(_settings(), sub, role))


@app.command(context_settings={"allow_extra_args": True})
def services(ctx: typer.Context) -> None:
    """Install, start, stop the real services for server mode: up|down|status|env [name]."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "services.sh"
    if not script.exists():
        typer.echo("scripts/services.sh is only in a source checkout", err=True)
        raise typer.Exit(2)
    raise typer.Exit(subprocess.call(["bash", str(script), *ctx.args]))


if __name__ == "__main__":
    app()
