"""Settings read from ``ADUAN_*`` environment variables and an optional ``.env`` file.

Every variable is documented in README.md ("Configuration") and in
``deploy/aduan.env.example``. Validation happens once at start; a bad value
raises :class:`ConfigError` naming the variable and what is wrong.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import Deadlines

DEFAULT_DATA_DIR = Path("var")
DEFAULT_GRAPH_BASE = "https://graph.facebook.com"
#: URL schemes redis-py accepts (redis.asyncio.from_url).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
#: The level names of Python's ``logging``.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: A bot token as BotFather issues it: the bot id, ``:``, a URL-safe secret
#: (35 characters today; a little slack for a future change).
TELEGRAM_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,60}")
#: Twilio Account SID and Messaging Service SID (Twilio API, "SID" formats).
TWILIO_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
TWILIO_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
#: E.164: ``+``, country code, at most 15 digits in all (ITU-T E.164).
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class Security(enum.StrEnum):
    """Transport security for IMAP and SMTP connections."""

    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class TelegramMode(enum.StrEnum):
    """How Telegram updates arrive: a webhook, or long polling (no public URL)."""

    WEBHOOK = "webhook"
    POLLING = "polling"


class LogFormat(enum.StrEnum):
    """How log lines are written: for people at a console, or one JSON object per line."""

    CONSOLE = "console"
    JSON = "json"


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable.

    ``problems`` lists ``(variable, problem)`` pairs; ``variable`` is ``None``
    for a rule over several variables, whose problem names them.
    """

    def __init__(self, message: str, problems: tuple[tuple[str | None, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    @classmethod
    def from_validation(cls, exc: ValidationError) -> ConfigError:
        """The error for pydantic's ``exc`` raised while reading :class:`Settings`."""
        problems: list[tuple[str | None, str]] = []
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["loc"]:
                name = "ADUAN_" + "_".join(str(p) for p in err["loc"]).upper()
                problems.append((name, message))
            else:
                problems.append((None, message))
        lines = [f"{name}: {text}" if name else text for name, text in problems]
        return cls("invalid configuration:\n  " + "\n  ".join(lines), tuple(problems))


class Settings(BaseSettings):
    """All runtime settings. Field ``x`` is read from ``ADUAN_X``."""

    model_config = SettingsConfigDict(
        env_prefix="ADUAN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="Directory for the SQLite file and the generated form secret."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default SQLite under data_dir."
    )
    redis_url: str | None = Field(None, description="Redis URL; unset means in-process jobs.")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    public_url: str | None = Field(None, description="URL the outside world reaches us at.")
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-* "
        "headers are honoured (docs/staff-access.md); empty: none.",
    )
    sop_profile: str = Field("default", description="Profile name or path to a YAML file.")
    form_secret: SecretStr | None = Field(
        None,
        description="Key signing the public form's tokens; unset: generated in data_dir/form-secret.",
    )
    form_token_max_age_minutes: float = Field(
        240.0, gt=0, le=7 * 24 * 60, description="A form token older than this is refused."
    )
    form_min_seconds: float = Field(
        2.0, ge=0, le=600, description="A form sent sooner than this after loading is refused."
    )
    form_address_per_10_minutes: int = Field(
        5, ge=1, le=10_000, description="Form submissions per client address in 10 minutes."
    )
    form_address_per_day: int = Field(
        20, ge=1, le=100_000, description="Form submissions per client address in 24 hours."
    )
    form_acks_per_recipient_day: int = Field(
        3, ge=0, le=1_000, description="Web-form acknowledgements to one address in 24 hours."
    )
    track_address_per_10_minutes: int = Field(
        20, ge=1, le=10_000, description="Tracking lookups per client address in 10 minutes."
    )
    turn_gap_seconds: float | None = Field(
        None,
        ge=0,
        le=30,
        description="Overrides the profile's quiet gap that makes a chat burst one turn.",
    )
    log_level: str = "INFO"
    log_format: LogFormat = Field(
        LogFormat.CONSOLE,
        description="console (readable lines) or json (one JSON object per line; docs/observability.md).",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token /metrics asks for; unset: /metrics is open (docs/observability.md).",
    )
    metrics_dir: Path | None = Field(
        None,
        description="Directory where serve and worker processes on this host share their "
        "metric files; default data_dir/metrics.",
    )
    staff_session_hours: float = Field(
        12.0, gt=0, le=720, description="Staff inbox sessions end this long after sign-in."
    )
    staff_idle_minutes: float = Field(
        120.0, gt=0, le=1440, description="…or after this long without a request."
    )

    imap_host: str | None = None
    imap_port: int | None = Field(None, ge=1, le=65535)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_security: Security = Security.SSL
    imap_mailbox: str = "INBOX"
    imap_poll_seconds: float = Field(60.0, gt=0)
    imap_trusted_authserv_id: str | None = Field(
        None,
        description="authserv-id (RFC 8601) of the office's receiving server; its "
        "Authentication-Results are read, all others ignored.",
    )

    smtp_host: str | None = None
    smtp_port: int | None = Field(None, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Security = Security.STARTTLS
    email_from: str | None = None
    email_max_body_chars: int = Field(
        100_000,
        ge=1000,
        le=10_000_000,
        description="An email's text is cut here; the whole body is kept as an attachment.",
    )
    reply_cap_per_hour: int = Field(
        10,
        ge=0,
        le=1000,
        description="Automatic emails to one address per hour; 0 turns the cap off.",
    )

    webhook_secret: SecretStr | None = Field(
        None, description="Shared secret for the signed JSON webhook /webhooks/api."
    )
    webhook_deadline: float = Field(
        10.0,
        gt=0,
        description=(
            "Seconds a provider webhook waits for its message to be stored; past it the "
            "provider is answered 503 with Retry-After and delivers again (docs/webhooks.md, "
            '"Deadline"). Keep it well inside the provider\'s own timeout (Twilio: 15 s).'
        ),
    )
    attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=0)

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_sms_from: str | None = Field(
        None, description="Twilio SMS sender (+62… or a Messaging Service SID MG…)."
    )
    twilio_whatsapp_from: str | None = Field(
        None, description="Twilio WhatsApp sender, whatsapp:+62…."
    )
    twilio_api_base: str | None = Field(
        None, description="Override of https://api.twilio.com (tests)."
    )
    twilio_sms_per_second: float = Field(1.0, gt=0, description="Sending rate per Twilio sender.")

    whatsapp_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_api_version: str = "v21.0"
    whatsapp_api_base: str = DEFAULT_GRAPH_BASE

    telegram_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_mode: TelegramMode = TelegramMode.WEBHOOK
    telegram_api_base: str | None = Field(
        None, description="Override of https://api.telegram.org/bot (tests)."
    )

    # Deadlines (docs/architecture.md, "Deadlines"): every wait on the database
    # is bounded, so a slow or hung database gives an error, never a hang.
    db_connect_timeout: float = Field(
        3.0, gt=0, le=60, description="Seconds to open a database connection."
    )
    db_statement_timeout: float = Field(
        5.0,
        gt=0,
        le=600,
        description="Seconds one database statement may run or wait for a lock.",
    )
    db_pool_timeout: float = Field(
        5.0, gt=0, le=600, description="Seconds to wait for a free pooled database connection."
    )
    db_idle_transaction_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="PostgreSQL ends a session idle this long inside a transaction.",
    )
    healthz_timeout: float = Field(
        2.0, gt=0, le=30, description="Seconds /healthz waits for the database before 503."
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("form_secret")
    @classmethod
    def _form_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("must have at least 32 characters (e.g. openssl rand -base64 32)")
        return value

    @model_validator(mode="after")
    def _form_ages(self) -> Settings:
        if self.form_min_seconds >= self.form_token_max_age_minutes * 60:
            raise ValueError(
                "ADUAN_FORM_MIN_SECONDS must be shorter than ADUAN_FORM_TOKEN_MAX_AGE_MINUTES"
            )
        return self

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("must have at least 16 characters (e.g. openssl rand -hex 24)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        networks = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or CIDR network such as 10.0.0.5 or "
                    "10.0.0.0/24 (comma-separated)"
                ) from None
        return ",".join(networks)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        # postgres:// and postgresql:// (as hosting panels print them) are read as
        # postgresql+asyncpg:// (effective_database_url); other drivers are refused.
        allowed = ("sqlite+aiosqlite://", "postgresql+asyncpg://", "postgresql://", "postgres://")
        if not value.startswith(allowed):
            scheme = value.split("://", 1)[0] if "://" in value else value[:20]
            hint = ""
            if scheme.startswith(("postgres", "postgresql")):
                hint = "; for PostgreSQL write postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB"
            elif scheme.startswith("sqlite"):
                hint = "; for SQLite write sqlite+aiosqlite:///PATH (or leave it unset)"
            raise ValueError(
                f"scheme {scheme!r} is not supported: use sqlite+aiosqlite:///PATH or "
                f"postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB{hint}"
            )
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(
                "is not a well-formed URL (a password with @ : / must be percent-encoded)"
            ) from None
        if url.get_backend_name() == "postgresql" and not url.host:
            raise ValueError("names no host: postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(REDIS_SCHEMES):
            raise ValueError(
                "must start with redis://, rediss:// (TLS) or unix:// (a socket), such as "
                "redis://127.0.0.1:6379/0"
            )
        if value.startswith(("redis://", "rediss://")):
            try:
                parts = urlsplit(value)
                _port = parts.port
            except ValueError:
                raise ValueError("has a port that is not a number from 1 to 65535") from None
            if not parts.hostname:
                raise ValueError("names no host, such as redis://127.0.0.1:6379/0")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level == "WARN":
            level = "WARNING"
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("telegram_token")
    @classmethod
    def _telegram_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not TELEGRAM_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError(
                "is not a bot token: BotFather gives the shape 123456789:AAH… (the bot's "
                "number, a colon, then about 35 letters, digits, _ or -)"
            )
        return value

    @field_validator("twilio_account_sid")
    @classmethod
    def _twilio_sid(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not TWILIO_ACCOUNT_SID.fullmatch(value):
            raise ValueError(
                "is not a Twilio Account SID: AC followed by 32 hexadecimal digits "
                "(Twilio Console, Account Info)"
            )
        return value

    @field_validator("twilio_sms_from")
    @classmethod
    def _twilio_sms_from(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not (E164.fullmatch(value) or TWILIO_SERVICE_SID.fullmatch(value)):
            raise ValueError(
                "must be a phone number in E.164 form such as +62211234567, or a "
                "Messaging Service SID (MG followed by 32 hexadecimal digits)"
            )
        return value

    @field_validator("twilio_whatsapp_from")
    @classmethod
    def _twilio_whatsapp_from(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not E164.fullmatch(value.removeprefix("whatsapp:")):
            raise ValueError("must be a WhatsApp sender such as whatsapp:+62211234567")
        return value

    @field_validator("whatsapp_phone_number_id")
    @classmethod
    def _phone_number_id(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.isdigit():
            raise ValueError(
                "must be the phone number ID (digits only, WhatsApp Manager, API Setup), "
                "not the phone number"
            )
        return value

    @field_validator("whatsapp_api_version")
    @classmethod
    def _graph_version(cls, value: str) -> str:
        if not re.fullmatch(r"v[0-9]{1,3}\.[0-9]{1,3}", value):
            raise ValueError("must be a Graph API version such as v21.0")
        return value

    @field_validator("twilio_api_base", "whatsapp_api_base", "telegram_api_base")
    @classmethod
    def _api_base(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value == "":
            # Empty means the provider's own base; only the Graph API's is spelled out.
            return DEFAULT_GRAPH_BASE if info.field_name == "whatsapp_api_base" else None
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) < 1:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("imap_host", "smtp_host")
    @classmethod
    def _mail_host(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "://" in value or "/" in value or any(c.isspace() for c in value):
            raise ValueError("must be a host name or address alone, such as mail.kantor.go.id")
        return value

    @field_validator("imap_trusted_authserv_id")
    @classmethod
    def _authserv_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if len(value) > 255 or any(c.isspace() or c in ';()"' for c in value):
            raise ValueError(
                "must be the authserv-id alone, such as mx.kantor.go.id: the first word of "
                "the Authentication-Results header the office's receiving server writes"
            )
        return value

    @field_validator("email_from")
    @classmethod
    def _email_from(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        _name, address = parseaddr(value)
        local, _, domain = address.rpartition("@")
        if not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
            raise ValueError(
                "must be an email address such as pengaduan@kantor.go.id "
                "or Layanan Pengaduan <pengaduan@kantor.go.id>"
            )
        return value

    def secret_values(self) -> list[str]:
        """Every configured secret (passwords, tokens), for masking in logs."""
        values = [
            v.get_secret_value()
            for v in (getattr(self, name) for name in type(self).model_fields)
            if isinstance(v, SecretStr)
        ]
        if self.database_url and "@" in self.database_url:
            password = make_url(self.database_url).password
            if password:
                values.append(str(password))
        return [v for v in values if len(v) >= 4]

    @property
    def effective_database_url(self) -> str:
        """The database URL in SQLAlchemy async form (asyncpg for PostgreSQL)."""
        url = self.database_url
        if url is None:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'aduan.sqlite3').as_posix()}"
        if url.startswith("postgres://"):
            return "postgresql+asyncpg://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            return "postgresql+asyncpg://" + url[len("postgresql://") :]
        return url

    @property
    def effective_public_url(self) -> str:
        """``public_url`` or, when unset, the local listening address."""
        return self.public_url or f"http://{self.http_host}:{self.http_port}"

    @property
    def effective_metrics_dir(self) -> Path:
        """``metrics_dir`` or, when unset, ``data_dir/metrics``."""
        return self.metrics_dir or self.data_dir / "metrics"

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``ADUAN_TRUSTED_PROXIES`` parsed (a single address is a /32 or /128 network)."""
        return tuple(ipaddress.ip_network(n) for n in self.trusted_proxies.split(",") if n)

    @property
    def imap_effective_port(self) -> int:
        """IMAP port, defaulting by security (993 ssl, 143 otherwise)."""
        if self.imap_port:
            return self.imap_port
        return 993 if self.imap_security is Security.SSL else 143

    @property
    def smtp_effective_port(self) -> int:
        """SMTP port, defaulting by security (465 ssl, 587 starttls, 25 none)."""
        if self.smtp_port:
            return self.smtp_port
        return {Security.SSL: 465, Security.STARTTLS: 587, Security.NONE: 25}[self.smtp_security]


@dataclass(frozen=True)
class ChannelState:
    """Whether a channel is on, and why not when it is off."""

    name: str
    enabled: bool
    reason: str


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; ``overrides`` win over the environment.

    Raises:
        ConfigError: naming every invalid ``ADUAN_*`` variable and the problem
            (``problems`` holds them as ``(variable or None, problem)`` pairs).
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError.from_validation(exc) from None


def _missing(pairs: tuple[tuple[str, object], ...]) -> list[str]:
    return [name for name, value in pairs if not value]


def _chat_channel_states(settings: Settings) -> list[ChannelState]:
    """SMS, WhatsApp and Telegram (README.md, "Configuration")."""
    states = []
    twilio = (
        ("ADUAN_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
        ("ADUAN_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
    )
    missing = _missing((*twilio, ("ADUAN_TWILIO_SMS_FROM", settings.twilio_sms_from)))
    states.append(
        ChannelState("sms", False, "missing " + ", ".join(missing))
        if missing
        else ChannelState("sms", True, f"Twilio from {settings.twilio_sms_from}")
    )
    cloud = _missing(
        (
            ("ADUAN_WHATSAPP_TOKEN", settings.whatsapp_token),
            ("ADUAN_WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
            ("ADUAN_WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token),
            ("ADUAN_WHATSAPP_PHONE_NUMBER_ID", settings.whatsapp_phone_number_id),
        )
    )
    via_twilio = _missing((*twilio, ("ADUAN_TWILIO_WHATSAPP_FROM", settings.twilio_whatsapp_from)))
    if not cloud:
        states.append(
            ChannelState(
                "whatsapp",
                True,
                f"WhatsApp Cloud API, phone number id {settings.whatsapp_phone_number_id}",
            )
        )
    elif not via_twilio:
        states.append(
            ChannelState("whatsapp", True, f"Twilio from {settings.twilio_whatsapp_from}")
        )
    else:
        states.append(
            ChannelState(
                "whatsapp",
                False,
                "missing "
                + ", ".join(cloud)
                + " (Cloud API) or "
                + ", ".join(via_twilio)
                + " (Twilio)",
            )
        )
    telegram = _missing((("ADUAN_TELEGRAM_TOKEN", settings.telegram_token),))
    if settings.telegram_mode is TelegramMode.WEBHOOK:
        telegram += _missing((("ADUAN_TELEGRAM_WEBHOOK_SECRET", settings.telegram_webhook_secret),))
    states.append(
        ChannelState("telegram", False, "missing " + ", ".join(telegram))
        if telegram
        else ChannelState("telegram", True, f"Telegram bot ({settings.telegram_mode})")
    )
    return states


def channel_states(settings: Settings) -> list[ChannelState]:
    """Which channels are on and, for those that are off, the missing settings."""
    states = [ChannelState("web", True, "public form at /")]

    missing = [
        n
        for n, v in (
            ("ADUAN_IMAP_HOST", settings.imap_host),
            ("ADUAN_IMAP_USER", settings.imap_user),
            ("ADUAN_IMAP_PASSWORD", settings.imap_password),
            ("ADUAN_SMTP_HOST", settings.smtp_host),
            ("ADUAN_EMAIL_FROM", settings.email_from),
        )
        if not v
    ]
    if missing:
        states.append(ChannelState("email", False, "missing " + ", ".join(missing)))
    else:
        states.append(
            ChannelState(
                "email",
                True,
                f"IMAP {settings.imap_user}@{settings.imap_host}:{settings.imap_effective_port}"
                f" ({settings.imap_security}, {settings.imap_mailbox}); SMTP "
                f"{settings.smtp_host}:{settings.smtp_effective_port} ({settings.smtp_security})"
                f" as {settings.email_from}",
            )
        )
    states.extend(_chat_channel_states(settings))
    if settings.webhook_secret:
        states.append(ChannelState("api", True, "signed JSON webhook at /webhooks/api"))
    else:
        states.append(ChannelState("api", False, "missing ADUAN_WEBHOOK_SECRET"))
    return states


def db_deadlines(settings: Settings) -> Deadlines:
    """The database deadlines of a serving process (``ADUAN_DB_*_TIMEOUT``)."""
    return Deadlines(
        connect=settings.db_connect_timeout,
        pool=settings.db_pool_timeout,
        statement=settings.db_statement_timeout,
        idle_in_transaction=settings.db_idle_transaction_timeout,
    )
