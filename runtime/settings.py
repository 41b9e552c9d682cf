"""All configuration, from TANQORY_* environment variables (or a .env file)."""

from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "tanqory-development-secret-change-me"
DEVELOPMENT_WEBHOOK_SECRET = "whsec_tanqory_development"
DEVELOPMENT_ACCOUNT_SECRET = "tanqory-development-account-secret"
# The most events one batch of the projectors may hold: in chDB the analytics sinks look a
# batch's events up by id in one statement, and ClickHouse refuses statements over 256 KiB
# (the server takes the ids beside the statement, as temporary tables).
MAX_BATCH = 2000


class Mode(StrEnum):
    EMBEDDED = "embedded"
    SERVER = "server"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class PaymentProviderName(StrEnum):
    TEST = "test"
    STRIPE = "stripe"


class MailTransport(StrEnum):
    SMTP = "smtp"
    FOLDER = "folder"


class ReadStore(StrEnum):
    """Where server mode keeps the read models (embedded keeps them in SQLite)."""

    POSTGRES = "postgres"  # schema `read_models` of the event store's database (ADR 0015)
    MONGODB = "mongodb"  # the database `mongo_db` at `mongo_uri` (MongoDB or FerretDB)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANQORY_", env_file=".env", extra="ignore")

    mode: Mode = Mode.EMBEDDED
    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".tanqory")
    log_level: str = "INFO"

    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    jwt_issuer: str = "tanqory"
    jwt_audience: str = "tanqory-api"
    token_ttl_seconds: int = Field(default=3600, gt=0)  # of `tanqory token`'s tokens
    access_token_ttl_seconds: int = Field(default=900, gt=0)  # of sign-in's access tokens
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, gt=0)
    # Failed sign-ins allowed per account, and per client, in a moving 15-minute window.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_client: int = Field(default=20, ge=1)
    # Keys the email index (a keyed digest, never the email) and derives the one-time
    # tokens of emailed links from their events' ids. Changing it orphans both.
    account_secret: SecretStr = SecretStr(DEVELOPMENT_ACCOUNT_SECRET)
    # Where emailed links send people: <this>/verify-email?token=... and
    # <this>/reset-password?token=... (the shop's pages, which post the token to the API).
    account_links_url: str = "http://127.0.0.1:8000/account"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    command_api_port: int = Field(default=8001, ge=1, le=65535)
    read_api_port: int = Field(default=8002, ge=1, le=65535)
    # Where the dashboard (served by the read API) signs in, in server mode; unset:
    # http://<host>:<command_api_port>. Embedded mode signs in on the page's own origin.
    command_api_url: str | None = None
    cors_origins: list[str] = ["http://localhost:3000"]
    consistency_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # HTTP hardening
    rate_limit_per_minute: int = Field(default=100, ge=0)  # per client on /api/; 0: no limit
    # How often a process adds the requests it counted to the shared (Redis) counts; 0:
    # each request is counted there before it is served (ADR 0018).
    rate_limit_sync_seconds: float = Field(default=0.1, ge=0, le=10)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    hsts_enabled: bool = True

    postgres_host: str = "127.0.0.1"
    postgres_port: int = 15432
    postgres_user: str = "tanqory"
    postgres_password: SecretStr = SecretStr("tanqory")
    postgres_db: str = "tanqory"
    # Per context's event store, in each process: kept open, and opened beyond when busy.
    postgres_pool_size: int = Field(default=2, ge=1)
    postgres_max_overflow: int = Field(default=8, ge=0)

    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_partitions: int = Field(default=3, ge=1)
    kafka_topic_prefix: str = Field(default="tanqory", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    relay_batch_size: int = Field(default=500, ge=1)
    # Server relays are woken by PostgreSQL's notifications; this is their fallback.
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    worker_id: str = "tanqory-projector"
    # How much lower the CPU priority (nice) of the relay, worker, sagas and notifier is
    # than the APIs': on shared cores the answers to clients come first (ADR 0025, 0030).
    background_nice: int = Field(default=19, ge=0, le=19)
    worker_batch_size: int = Field(default=500, ge=1, le=MAX_BATCH)
    worker_session_timeout_seconds: float = Field(default=10.0, ge=6, le=300)
    # A worker whose partitions hold records it has not read for this long, while it reads
    # nothing, exits (streams/stall_watch.py). Above the minute a failing batch is retried.
    worker_stall_seconds: float = Field(default=120.0, ge=1, le=3600)
    # How often the worker and the read API look for a read model's new build (server).
    read_model_switch_seconds: float = Field(default=1.0, gt=0, le=60)

    read_store: ReadStore = ReadStore.POSTGRES
    mongo_uri: str = "mongodb://127.0.0.1:17017/"
    mongo_db: str = "tanqory"

    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = 19000
    clickhouse_db: str = "tanqory"
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")

    redis_url: str = "redis://127.0.0.1:16379/0"
    cache_ttl_product_seconds: int = Field(default=600, ge=0, le=86_400)
    cache_ttl_listing_seconds: int = Field(default=300, ge=0, le=86_400)
    cache_ttl_analytics_seconds: int = Field(default=10, ge=0, le=86_400)
    # Analytics: a product is low on stock at this many available units or fewer.
    low_stock_threshold: int = Field(default=5, ge=0)
    # The live change stream (GET /api/v1/stream): changes kept for reconnecting clients,
    # and open streams allowed per read API process.
    stream_retention: int = Field(default=10_000, ge=1)
    stream_max_clients: int = Field(default=100, ge=1)

    currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")  # of every price and order
    payment_deadline_seconds: int = Field(default=1800, gt=0)  # to pay after stock is reserved
    # "test": the built-in provider (Stripe's test payment methods, no service); "stripe":
    # Stripe's API, or stripe-mock at stripe_api_base. Unset: "test" embedded, "stripe" server.
    payment_provider: PaymentProviderName | None = None
    stripe_api_key: SecretStr = SecretStr("sk_test_tanqory")
    stripe_api_base: str | None = None  # e.g. http://127.0.0.1:12111 for stripe-mock
    stripe_webhook_secret: SecretStr = SecretStr(DEVELOPMENT_WEBHOOK_SECRET)

    # An external OpenID Connect provider whose tokens (RS256/ES256) are accepted beside
    # local ones; unset issuer: none is.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None  # unset: the jwks_uri of the issuer's discovery document
    oidc_roles_claim: str = "roles"  # a dotted path into the claims, e.g. realm_access.roles
    oidc_jwks_cache_seconds: int = Field(default=300, ge=0)

    # Per-customer keys of personal data (crypto-shredding): how long a process may use a
    # key it has read, so an erasure takes effect everywhere within this.
    personal_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    # Email. "smtp": the server below; "folder": each message a file under data_dir/mail.
    # Unset: "folder" embedded, "smtp" server.
    mail_transport: MailTransport | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Tanqory <no-reply@tanqory.local>"

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> "Settings":
        secret = self.jwt_secret.get_secret_value()
        if not secret:
            raise ValueError("TANQORY_JWT_SECRET must not be empty")
        if self.env is not Environment.DEVELOPMENT and secret == DEVELOPMENT_SECRET:
            raise ValueError(
                "TANQORY_JWT_SECRET must be set to a non-default secret outside development"
            )
        if self.env is Environment.PRODUCTION and len(secret) < 32:
            raise ValueError("TANQORY_JWT_SECRET must be at least 32 characters in production")
        if self.env is Environment.PRODUCTION and \
                self.account_secret.get_secret_value() == DEVELOPMENT_ACCOUNT_SECRET:
            raise ValueError("TANQORY_ACCOUNT_SECRET must be set in production")
        webhook_secret = self.stripe_webhook_secret.get_secret_value()
        if self.env is Environment.PRODUCTION and webhook_secret == DEVELOPMENT_WEBHOOK_SECRET:
            raise ValueError("TANQORY_STRIPE_WEBHOOK_SECRET must be set to the provider's "
                             "signing secret in production")
        return self

    @cached_property
    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's persistence settings for this mode."""
        if self.mode is Mode.EMBEDDED:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return {
                # Each context's tables named after it, in one file (see the module).
                "PERSISTENCE_MODULE": "commands.sqlite_store:ContextSQLiteFactory",
                "SQLITE_DBNAME": str(self.data_dir / "events.sqlite3"),
            }
        return {
            "PERSISTENCE_MODULE": "commands.postgres_store:OneStatementPostgresFactory",
            # Each public event's Kafka record made as it is recorded (commands.outbox).
            "MAPPER_TOPIC": "commands.outbox:OutboxMapper",
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            "POSTGRES_DBNAME": self.postgres_db,
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
        }

    @property
    def payments_through(self) -> PaymentProviderName:
        if self.payment_provider is not None:
            return self.payment_provider
        return PaymentProviderName.TEST if self.mode is Mode.EMBEDDED else PaymentProviderName.STRIPE

    @property
    def mail_through(self) -> MailTransport:
        if self.mail_transport is not None:
            return self.mail_transport
        return MailTransport.FOLDER if self.mode is Mode.EMBEDDED else MailTransport.SMTP

    @property
    def postgres_dsn(self) -> str:
        return (
            f"postgresql://{self.postgres_user}:{self.postgres_password.get_secret_value()}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        )
