"""All configuration, read once from the environment (prefix ``CAREPLANE_``) or a ``.env`` file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPLANE_", env_file=".env", extra="ignore")

    #: The business units to run (comma-separated ``module`` or ``module:attribute`` of a
    #: ``careplane.kernel.units.Unit``); empty means every installed ``careplane.business_units`` entry point.
    units: str = ""
    #: SQLAlchemy URL. Empty means the embedded SQLite file under ``data_dir``.
    database_url: str = ""
    #: Where embedded mode keeps its database and generated secret.
    data_dir: Path = Path("var")
    #: Signs one-time links; generated and kept in ``data_dir`` when not given.
    secret_key: str = ""
    #: Seals the audit chain (HMAC-SHA256); the same on every app server and worker, never in the
    #: database. Generated and kept in ``data_dir`` when not given, except in production.
    audit_key: str = ""
    #: Earlier audit keys, comma-separated: rows they sealed still verify after a rotation.
    audit_keys_old: str = ""
    #: The Ed25519 private key (PEM) that signs audit checkpoints. Generated in ``data_dir`` when
    #: not given, except in production.
    audit_signing_key_file: Path | None = None
    #: When set, the worker writes a signed checkpoint of the audit chain into this folder every 15 minutes.
    audit_checkpoint_dir: Path | None = None
    #: ``development`` shows demo hints; ``production`` does not.
    environment: str = "development"
    #: Show every e-mail in the outbox (reset links included) at /mailbox, to requests from this
    #: computer (the loopback address) only. ``careplane demo`` turns it on; never set it anywhere
    #: that holds real accounts: one reset link there takes over any account.
    demo_mailbox: bool = False
    #: The address people use to reach the web app (links in e-mails).
    base_url: str = "http://127.0.0.1:8000"
    #: Run the background worker inside ``careplane serve`` (the embedded default).
    embedded_worker: bool = True
    #: ``outbox`` keeps mail in the database only (readable at /mailbox in ``careplane demo``);
    #: ``smtp`` also sends it through the SMTP server below, from the worker.
    mail_backend: Literal["outbox", "smtp"] = "outbox"
    mail_from: str = "careplane <no-reply@careplane.local>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    #: ``starttls`` (usually port 587), ``tls`` (implicit TLS, usually 465) or ``none``.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    #: Log in to the SMTP server when a username is given.
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 30
    #: Who takes card payments (:mod:`careplane.kernel.payments`): ``local`` approves the test cards
    #: of docs/payments.md and moves no money (refused in production). A real processor's adapter
    #: adds its name here.
    payment_processor: Literal["local"] = "local"
    #: Web session lifetime and idle timeout.
    session_hours: int = 12
    session_idle_minutes: int = 60
    #: Failed logins before an account locks, and for how long.
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    #: Failed logins from one address in the window before it is slowed down.
    ip_failure_limit: int = 20
    ip_failure_window_minutes: int = 10
    #: Self-registrations accepted from one address in the window (each one sends an e-mail).
    signup_limit: int = 10
    signup_window_minutes: int = 60
    #: Send cookies only over HTTPS (turn on behind TLS); also turns on Strict-Transport-Security.
    secure_cookies: bool = False
    #: The largest request body a route accepts (JSON, forms), and a route that takes file
    #: uploads (the staff CSV import): larger bodies are refused with 413 before they are read.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    #: Threads that run blocking request work. Few threads contend less for Python's GIL; the
    #: JSON API is fastest with a handful (see docs/benchmarks.md).
    web_threads: int = Field(4, ge=1, le=200)
    #: How long a request queues for a turn at the database (one fewer than web_threads at once)
    #: before it is answered 503 with Retry-After.
    admission_wait_seconds: float = Field(10, gt=0)
    #: How long a change waits for SQLite's one writer before it gives up (503 on the web).
    write_wait_seconds: float = Field(10, gt=0)
    #: The ICE servers a video visit's browsers use to reach each other (Virtual Care), as the JSON list
    #: RTCPeerConnection takes: ``[{"urls": "stun:stun.example.org:3478"}, {"urls": "turn:turn.example.org",
    #: "username": "...", "credential": "..."}]``. Empty: host candidates only (one network, and the tests).
    vc_ice_servers: list[dict[str, Any]] = []
    log_json: bool = True
    log_level: str = "INFO"
    #: Worker tuning.
    worker_poll_seconds: float = Field(1.0, gt=0)
    worker_max_attempts: int = 8
    #: Longest an event handler may run; one that takes longer is stopped (its transaction rolled
    #: back) and counts as a failed attempt. Above the SMTP timeout, so a slow mail server times out first.
    worker_handler_timeout_seconds: float = Field(60.0, gt=0)

    @property
    def embedded(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")

    @property
    def embedded_database_path(self) -> Path:
        return self.data_dir / "careplane.db"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.embedded_database_path.resolve()}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        if self.environment == "production":
            raise RuntimeError("CAREPLANE_SECRET_KEY must be set in production")
        self.secret_key = self._generated_secret("secret_key")
        return self.secret_key

    def resolved_audit_key(self, *, create: bool = True) -> str:
        """The key that seals new audit rows. With ``create=False`` (verifying) an empty string
        when none is configured, instead of generating one or refusing."""
        if self.audit_key:
            return self.audit_key
        key_file = self.data_dir / "audit_key"
        if not create:
            return key_file.read_text().strip() if self.environment != "production" and key_file.exists() else ""
        if self.environment == "production":
            raise RuntimeError("CAREPLANE_AUDIT_KEY must be set in production")
        self.audit_key = self._generated_secret("audit_key")
        return self.audit_key

    def resolved_audit_signing_key_file(self) -> Path:
        """Where the checkpoint signing key is (the file may not exist yet in development)."""
        if self.audit_signing_key_file:
            return self.audit_signing_key_file
        if self.environment == "production":
            raise RuntimeError("CAREPLANE_AUDIT_SIGNING_KEY_FILE must be set in production")
        return self.data_dir / "audit_signing_key.pem"

    def _generated_secret(self, name: str) -> str:
        """A random secret kept in ``data_dir/name`` (made on first use, readable by the owner only)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / name
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
