"""The `tanqory` command line: run the platform or one of its processes, issue tokens."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import httpx
import typer
import uvicorn
from pydantic import ValidationError

from runtime import event_loop
from runtime.auth import Role, issue_token
from runtime.heap import freezing_heap_after_startup
from runtime.logs import configure_logging
from runtime.personal_data import SealedValueError
from runtime.settings import Environment, Mode, Settings
from schemas.payments import Outcome
from tanqory.history_formats import Format

T = TypeVar("T")
# Live streams (GET /api/v1/stream) never end by themselves: on a stop, what is still open
# after this long is cancelled, so the process exits.
SHUTDOWN_GRACE_SECONDS = 5
# Markdown: a docstring's single line breaks join, and brackets such as `[name]` stay text.
app = typer.Typer(help="Tanqory Commerce Platform", no_args_is_help=True,
                  rich_markup_mode="markdown")


def _value(name: str) -> str:
    """A setting's default, for help texts."""
    return str(Settings.model_fields[name].default)


def _default(name: str) -> str:
    """A setting's default and the variable that overrides it, for help texts."""
    return f"{_value(name)} or TANQORY_{name.upper()}"


HostOption = Annotated[str | None, typer.Option(
    help=f"Interface to bind (default: {_default('host')})", show_default=False)]
ServePort = Annotated[int | None, typer.Option(
    "--port", help=f"Port to listen on (default: {_default('port')})", show_default=False)]
CommandApiPort = Annotated[int | None, typer.Option(
    "--port", help=f"Port to listen on (default: {_default('command_api_port')})",
    show_default=False)]
ReadApiPort = Annotated[int | None, typer.Option(
    "--port", help=f"Port to listen on (default: {_default('read_api_port')})",
    show_default=False)]


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        typer.echo(f"Invalid settings:\n{error}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)
    return settings


def _background_settings() -> Settings:
    """The settings of a process that catches up behind the APIs (server mode), which
    then runs TANQORY_BACKGROUND_NICE steps below their CPU priority (ADR 0025, 0030)."""
    settings = _settings(mode=Mode.SERVER)
    if settings.background_nice:
        os.nice(settings.background_nice)
    return settings


@app.command(help=f"""Run the whole platform in one process (embedded mode: no external service).

Listens on TANQORY_HOST:TANQORY_PORT (default {_value("host")}:{_value("port")}) and keeps its
event store, read models, event history and dead letters under TANQORY_DATA_DIR (default
{_value("data_dir")}). TANQORY_MODE is set to embedded whatever it says.
""")
def serve(
    port: ServePort = None,
    host: HostOption = None,
    demo: Annotated[bool, typer.Option(help="Seed demo categories and products on start")] = True,
) -> None:
    from tanqory.embedded import build_embedded_api
    from tanqory.serve import announce_and_seed

    settings = _settings(mode=Mode.EMBEDDED, port=port, host=host)
    api = build_embedded_api(settings, on_ready=announce_and_seed(settings, demo))
    uvicorn.run(api, host=settings.host, port=settings.port, log_level="warning", lifespan="on",
                access_log=False, timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)


@app.command("command-api")
def command_api(port: CommandApiPort = None, host: HostOption = None) -> None:
    """Run the command API (server mode): commands in, events recorded in each context's store.

    TANQORY_MODE is set to server whatever it says. Needs the PostgreSQL settings (the event
    stores: TANQORY_POSTGRES_HOST/PORT/USER/PASSWORD/DB), the Redis settings
    (TANQORY_REDIS_URL: rate limits and idempotency keys), TANQORY_JWT_SECRET, and the
    payment provider's (TANQORY_STRIPE_API_KEY, TANQORY_STRIPE_API_BASE to confirm
    payments, TANQORY_STRIPE_WEBHOOK_SECRET to verify its webhooks); listens on
    TANQORY_HOST:TANQORY_COMMAND_API_PORT.
    """
    from tanqory.wiring import build_command_api

    settings = _settings(mode=Mode.SERVER, command_api_port=port, host=host)
    api = freezing_heap_after_startup(build_command_api(settings))
    uvicorn.run(api, host=settings.host, port=settings.command_api_port, log_level="warning",
                lifespan="on", access_log=False)


@app.command("read-api")
def read_api(port: ReadApiPort = None, host: HostOption = None) -> None:
    """Run the read API (server mode): queries from the read models, with the cache.

    TANQORY_MODE is set to server whatever it says. Needs the read models' settings
    (TANQORY_READ_STORE: postgres, the default, in the PostgreSQL database below, or mongodb,
    with TANQORY_MONGO_URI and TANQORY_MONGO_DB), the Redis settings (TANQORY_REDIS_URL:
    cache, rate limits, read-your-writes signals, projection progress), the PostgreSQL
    settings (TANQORY_POSTGRES_HOST/PORT/USER/PASSWORD/DB: the event stores, read only,
    for `?as_of=` reads; the command API creates their tables), the ClickHouse settings
    (TANQORY_CLICKHOUSE_HOST/PORT/DB/USER/PASSWORD: the event history analysts page
    through) and TANQORY_JWT_SECRET; listens on TANQORY_HOST:TANQORY_READ_API_PORT.
    """
    from tanqory.wiring import build_read_api

    settings = _settings(mode=Mode.SERVER, read_api_port=port, host=host)
    api = freezing_heap_after_startup(build_read_api(settings))
    uvicorn.run(api, host=settings.host, port=settings.read_api_port, log_level="warning",
                lifespan="on", access_log=False,
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)


@app.command()
def relay() -> None:
    """Run the outbox relay (server mode): each context's event store to its Kafka topic.

    TANQORY_MODE is set to server whatever it says. Needs the PostgreSQL settings (the event
    stores and the relay positions: TANQORY_POSTGRES_HOST/PORT/USER/PASSWORD/DB), the Kafka
    settings (TANQORY_KAFKA_BOOTSTRAP, TANQORY_KAFKA_TOPIC_PREFIX, TANQORY_KAFKA_PARTITIONS)
    and the Redis settings (TANQORY_REDIS_URL: progress). Run one relay.

    Like the worker, the sagas and the notifier, it runs TANQORY_BACKGROUND_NICE (default
    19) steps below the CPU priority of the APIs, which answer clients (ADR 0025, 0030).
    """
    from tanqory.wiring import run_relay

    settings = _background_settings()
    event_loop.run(run_relay(settings))


@app.command()
def worker() -> None:
    """Run the projection worker (server mode): every context topic into the read models.

    Two consumers in one process (ADR 0023): group TANQORY_WORKER_ID folds every
    context's events into the read models and moves the cache generations in Redis;
    group TANQORY_WORKER_ID followed by -analytics writes the ClickHouse event history
    and facts. TANQORY_MODE is set to server whatever it says. Needs the Kafka
    settings (TANQORY_KAFKA_BOOTSTRAP, TANQORY_KAFKA_TOPIC_PREFIX), the read models'
    settings (TANQORY_READ_STORE: postgres, the default, with
    TANQORY_POSTGRES_HOST/PORT/USER/PASSWORD/DB, or mongodb, with TANQORY_MONGO_URI and
    TANQORY_MONGO_DB), the ClickHouse settings
    (TANQORY_CLICKHOUSE_HOST/PORT/DB/USER/PASSWORD) and the Redis settings
    (TANQORY_REDIS_URL).
    """
    from tanqory.wiring import run_worker

    settings = _background_settings()
    run_worker(settings)


@app.command()
def sagas() -> None:
    """Run the sagas (server mode): events of one context become commands to another.

    Their own consumer group (TANQORY_WORKER_ID followed by -sagas). Every second it
    also expires the orders whose payment deadline (TANQORY_PAYMENT_DEADLINE_SECONDS) has
    passed. TANQORY_MODE is set to server whatever it says. Needs the Kafka settings
    (TANQORY_KAFKA_BOOTSTRAP, TANQORY_KAFKA_TOPIC_PREFIX), the PostgreSQL settings (the
    event stores the commands record in, and the deadlines:
    TANQORY_POSTGRES_HOST/PORT/USER/PASSWORD/DB) and the payment provider's
    (TANQORY_STRIPE_API_KEY, TANQORY_STRIPE_API_BASE: payment intents and refunds).
    """
    from tanqory.wiring import run_saga_worker

    settings = _background_settings()
    run_saga_worker(settings)


@app.command()
def notifier() -> None:
    """Run the notifier (server mode): emails for account and order events, once each.

    Its own consumer group (TANQORY_WORKER_ID followed by -notifier), so a failing mail
    server holds up nothing else; a message is retried with backoff, and then the batch
    again. TANQORY_MODE is set to server whatever it says. Needs the Kafka settings, the
    PostgreSQL settings (the event stores, customers' keys and the record of what was
    sent), the SMTP settings (TANQORY_SMTP_*, TANQORY_MAIL_FROM),
    TANQORY_ACCOUNT_SECRET and TANQORY_ACCOUNT_LINKS_URL (the links in the emails).
    """
    from tanqory.wiring import run_notifier

    settings = _background_settings()
    run_notifier(settings)


@app.command()
def verify() -> None:
    """Check every projection against a rebuild from the event store; exit 1 if any differs.

    Replays every stored event into fresh, empty stores and compares them with the live
    read models document by document. It uses the mode TANQORY_MODE names: embedded
    (the default) reads the data directory TANQORY_DATA_DIR (the event history is left
    out: the running serve holds it); server reads PostgreSQL, MongoDB and ClickHouse
    with their settings, and compares the ClickHouse event history, analytics facts and
    rollup figures row by row too.
    """
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


@app.command()
def history(
    context: Annotated[list[str] | None, typer.Option(
        "--context", help="Only this context's events; repeat for several")] = None,
    aggregate: Annotated[UUID | None, typer.Option(
        "--aggregate", help="Only this aggregate's events (its id)")] = None,
    aggregate_type: Annotated[str | None, typer.Option(help="e.g. Product, Order")] = None,
    event_type: Annotated[list[str] | None, typer.Option(
        "--type", help="Only this event type (e.g. OrderPlaced); repeat for several")] = None,
    since: Annotated[str | None, typer.Option(
        help="From this ISO 8601 date or date-time, inclusive (UTC if no offset)")] = None,
    until: Annotated[str | None, typer.Option(
        help="Up to this ISO 8601 date or date-time, exclusive (UTC if no offset)")] = None,
    correlation_id: Annotated[str | None, typer.Option(
        help="Only the events of one request (its X-Request-ID)")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many events")] = None,
    format_: Annotated[Format | None, typer.Option(
        "--format", help="Default: table on a terminal, jsonl otherwise",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        dir_okay=False, help="Write to this file (required for parquet; default stdout)")
    ] = None,
    unseal: Annotated[bool, typer.Option(
        "--unseal", help="Operators only: personal values in clear (null once erased)")
    ] = False,
) -> None:
    """Every event of every context, oldest first, filtered: the analysts' event history.

    Streams the events page by page (never all in memory) in the envelope's shape
    (docs/events.md), ordered by occurred_at, context, aggregate and version; the
    filters combine with AND. It uses the mode TANQORY_MODE names: server reads ClickHouse
    (TANQORY_CLICKHOUSE_*); embedded reads TANQORY_DATA_DIR's chDB history, through the
    running tanqory serve (TANQORY_HOST, TANQORY_PORT, TANQORY_JWT_SECRET) while it holds it.
    Personal values stay sealed unless --unseal, which reads the mode's key store.
    Exits 2 on bad arguments, 1 when the history cannot be read.
    """
    from tanqory.history import HistoryUnavailable, export, history_filter
    from tanqory.history_formats import open_writer, progress

    settings = _settings()
    try:
        wanted = history_filter(context or [], aggregate, aggregate_type, event_type or [],
                                since, until, correlation_id)
    except ValueError as error:
        typer.echo(f"Invalid arguments: {error}", err=True)
        raise typer.Exit(2) from None
    terminal = output is None and sys.stdout.isatty()
    chosen = format_ or (Format.TABLE if terminal else Format.JSONL)
    if chosen is Format.PARQUET and output is None:
        typer.echo("Invalid arguments: --format parquet needs --output PATH", err=True)
        raise typer.Exit(2)
    try:
        with open_writer(chosen, output) as out, \
                progress(limit, shown=sys.stderr.isatty() and not terminal) as done:
            count = asyncio.run(export(settings, wanted, limit, out, unseal, done))
    except (HistoryUnavailable, SealedValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    if output is not None:
        typer.echo(f"wrote {count} event(s) to {output}", err=True)


ProjectionArgument = Annotated[str, typer.Argument(
    help="The projection, by its projector's name: a read model (products, categories, "
         "stock, stock_movements, orders, payments, shipments, customers, notifications) "
         "or the analytics facts (analytics_facts)",
    show_default=False)]


def _operate(job: Any, title: str) -> None:
    """Runs a replay or rebuild job in TANQORY_MODE with a progress bar; exits 1 if it
    cannot."""
    from tanqory.progress_bar import events_progress
    from tanqory.replaying import execute, known

    settings = _settings()
    try:
        known(job.projection)
        with events_progress(title) as report:
            outcome = execute(settings, job, report)
    except LookupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(outcome)


def _moment(text: str | None) -> Any:
    from tanqory.replaying import moment

    if text is None:
        return None
    try:
        return moment(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 moment") from None


@app.command()
def replay(
    projection: ProjectionArgument,
    aggregate: Annotated[UUID | None, typer.Option(
        help="Only this aggregate's document(s), refolded from its whole stream",
        show_default=False)] = None,
    since: Annotated[str | None, typer.Option(
        help="Only the aggregates with an event at or after this ISO 8601 moment (UTC "
             "when it names no offset), each refolded from its whole stream",
        show_default=False)] = None,
    until: Annotated[str | None, typer.Option(
        help="Only the aggregates with an event before this moment (with or without --since)",
        show_default=False)] = None,
    from_kafka: Annotated[bool, typer.Option(
        "--from-kafka", help="Read the contexts' Kafka topics from the beginning (server "
        "mode; a consumer in no group, committing nothing) rather than the event stores")
    ] = False,
) -> None:
    """Refold one projection (or some of its aggregates) from history into the live store.

    Repairs documents: each refolded document replaces the stored one even at the same
    version (never a newer one), a batch at a time, so readers never see the read model
    empty; the cache generations of what it rewrote move. Every side effect is muted:
    nothing is published (Kafka, relays), no saga command, no email. A fold needs an
    aggregate's whole stream, so --aggregate, --since and --until select aggregates, never
    single events. It uses the mode TANQORY_MODE names: server runs here with the
    PostgreSQL settings (the event stores: TANQORY_POSTGRES_HOST/PORT/USER/PASSWORD/DB),
    the read models' settings (TANQORY_READ_STORE; TANQORY_MONGO_URI, TANQORY_MONGO_DB for
    mongodb), TANQORY_REDIS_URL (the cache) and, with --from-kafka, the Kafka settings (TANQORY_KAFKA_BOOTSTRAP,
    TANQORY_KAFKA_TOPIC_PREFIX); embedded asks the running tanqory serve (same
    TANQORY_DATA_DIR), which holds the read models and their cache. Exits 1 if it cannot.

    analytics_facts: writes only the fact rows the selected aggregates' streams make that
    the live facts lack (once only, by event id; the ClickHouse settings in server mode).
    It cannot correct a wrong row, since the rollups are sums made at insert: `tanqory
    rebuild analytics_facts` does.
    """
    from tanqory.replaying import Job

    job = Job("replay", projection, aggregate, _moment(since), _moment(until), from_kafka)
    _operate(job, f"replay {projection}")


@app.command()
def rebuild(
    projection: ProjectionArgument,
    drop_old: Annotated[bool, typer.Option(
        "--drop-old", help="Only remove the builds that are not live (after a rebuild)")
    ] = False,
    abandon: Annotated[bool, typer.Option(
        "--abandon", help="Only end and remove a build in progress that its rebuild left "
        "(it died)")] = False,
) -> None:
    """Build a new version of a projection beside the live one, then cut readers over.

    Blue/green: build N+1 (in MongoDB, its collections suffixed `__N+1`; in PostgreSQL,
    its tables in the schema `read_models__N+1`; embedded, a file
    `read_models.NAME.N+1.sqlite3`; analytics_facts, a database `<database>__N+1` beside
    the live facts in ClickHouse or chDB) gets the whole history folded in while the projector
    writes every change to both builds; once it has caught up, a pointer flips and every
    reader and projector switches (server mode: within TANQORY_READ_MODEL_SWITCH_SECONDS;
    embedded: at once). The old build stays until `tanqory rebuild NAME --drop-old`. Side
    effects are muted as for replay. It uses the mode TANQORY_MODE names: server runs here
    with the PostgreSQL, read models' and Redis settings, as replay; embedded asks the running
    tanqory serve (same TANQORY_DATA_DIR). Exits 1 if it cannot (one build at a time per
    read model).
    """
    from tanqory.replaying import Job

    if drop_old and abandon:
        raise typer.BadParameter("--drop-old or --abandon, not both")
    job = Job("drop-old" if drop_old else "abandon" if abandon else "rebuild", projection)
    _operate(job, f"{job.command} {projection}")


dlq = typer.Typer(help="Dead letters: events the projectors could not apply.",
                  no_args_is_help=True, rich_markup_mode="markdown")
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
    """Show each dead letter: where it is, whether it was retried, the event and the error.

    It uses the mode TANQORY_MODE names: embedded reads dead_letters.sqlite3 under
    TANQORY_DATA_DIR; server reads every context's dead-letter topic with the Kafka
    settings (TANQORY_KAFKA_BOOTSTRAP, TANQORY_KAFKA_TOPIC_PREFIX, TANQORY_WORKER_ID).
    """
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
    """Re-drive every dead letter not yet retried through the projectors, once each.

    It uses the mode TANQORY_MODE names: server re-publishes each to its events topic
    (Kafka settings); embedded hands it to the running platform (tanqory serve, same
    TANQORY_DATA_DIR), which re-drives it within a second.
    """
    from tanqory.operations import retry_dead_letters

    settings = _settings()
    retried = _or_exit(retry_dead_letters(settings))
    for d in retried:
        typer.echo(f"re-drove {d.topic}:{d.partition}:{d.offset}: {d.event()}")
    typer.echo(f"re-drove {len(retried)} dead letter(s)")
    if settings.mode is Mode.EMBEDDED and retried:
        typer.echo("(the running tanqory serve applies them within a second)")


payments = typer.Typer(help="Payments: webhooks as the payment provider sends them.",
                        no_args_is_help=True, rich_markup_mode="markdown")
app.add_typer(payments, name="payments")


@payments.command("webhook")
def payments_webhook(
    order_id: Annotated[UUID, typer.Argument(help="The order whose payment it reports")],
    outcome: Annotated[Outcome, typer.Option(help="What the provider says of the payment")],
    url: Annotated[str | None, typer.Option(
        help="The webhook endpoint (default: the command API's in TANQORY_MODE: "
             "TANQORY_HOST with TANQORY_PORT embedded, TANQORY_COMMAND_API_PORT server)",
        show_default=False)] = None,
) -> None:
    """Send a signed payment_intent.succeeded or .payment_failed webhook for an order.

    For operators and demos, as `stripe trigger` does: it reads the order's payment (its
    intent and amount) from the event store of TANQORY_MODE, signs the event with
    TANQORY_STRIPE_WEBHOOK_SECRET and posts it to the running platform, which handles it
    exactly as one from Stripe. Exits 1 if the order has no payment yet or the platform
    refuses it.
    """
    from tanqory.operations import payment_webhook

    settings = _settings()
    try:
        response = payment_webhook(settings, order_id, outcome, url)
    except LookupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    except httpx.HTTPError as error:
        typer.echo(f"could not reach the webhook endpoint: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{response.status_code} {response.text}")
    if response.is_error:
        raise typer.Exit(1)


customers = typer.Typer(help="Customers' accounts, for operators.", no_args_is_help=True,
                         rich_markup_mode="markdown")
app.add_typer(customers, name="customers")


@customers.command("roles")
def customers_roles(
    email: Annotated[str, typer.Argument(help="The account's email")],
    role: Annotated[list[Role], typer.Option("--role", help="A role; repeat for several")],
) -> None:
    """Set the roles of the account with this email (every role it should hold).

    For operators, and for a deployment's first admin: register through the API, then
    `tanqory customers roles EMAIL --role admin --role customer`. It writes to the event
    store of TANQORY_MODE (embedded: TANQORY_DATA_DIR; server: the PostgreSQL settings),
    as an operator; the account's sessions end, so its next sign-in carries the roles.
    Exits 1 if no account has the email.
    """
    from tanqory.operations import set_roles

    try:
        customer_id, changed = set_roles(_settings(), email, [str(r) for r in role])
    except (LookupError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    roles = ", ".join(sorted({str(r) for r in role}))
    typer.echo(f"customer {customer_id}: roles {roles}" + ("" if changed else " (unchanged)"))


@app.command(help=f"""Print a signed token (HS256) for the configured secret, for development and tests.

Signed with TANQORY_JWT_SECRET; it expires after TANQORY_TOKEN_TTL_SECONDS (default
{_value("token_ttl_seconds")} seconds). For development and tests only: refused when
TANQORY_ENV is production, where people sign in (POST /api/v1/auth/login) or bring an
OpenID Connect provider's token.
""")
def token(
    role: Annotated[list[Role], typer.Option("--role", help="A role; repeat for several")],
    sub: Annotated[str, typer.Option("--sub", help="The subject (user id)")] = "dev-user",
) -> None:
    settings = _settings()
    if settings.env is Environment.PRODUCTION:
        typer.echo("tanqory token is for development and tests, not production: sign in "
                   "(POST /api/v1/auth/login) or use your OpenID Connect provider's tokens",
                   err=True)
        raise typer.Exit(2)
    typer.echo(issue_token(settings, sub, role))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def services(ctx: typer.Context) -> None:
    """The real services for server mode: up|down|restart|status|env|pid|reset [name].

    Runs scripts/services.sh (a source checkout only), which installs what is missing and
    runs PostgreSQL, FerretDB, Redis, ClickHouse, Kafka and stripe-mock on loopback, with data under
    .services/. up [name...] installs and starts them and waits until ready; down [name...]
    stops them; restart [name...] does both; status [name...] exits 1 unless all are up;
    env prints the export lines of the TANQORY_* settings that reach them; pid name prints
    a service's main process id; reset [name...] stops them and deletes their data. name is
    one of postgres, ferretdb, redis, clickhouse, kafka, stripe-mock (default: all).
    """
    script = Path(__file__).resolve().parent.parent / "scripts" / "services.sh"
    if not script.exists():
        typer.echo("scripts/services.sh is only in a source checkout", err=True)
        raise typer.Exit(2)
    raise typer.Exit(subprocess.call(["bash", str(script), *ctx.args]))


if __name__ == "__main__":
    app()
