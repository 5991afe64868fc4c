"""All configuration, read once from the environment (prefix ``CAREPLANE_``) or a ``.env`` file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPLANE_", env_file=".env", extra="ignore")

    #: SQLAlchemy URL. Empty means the embedded SQLite file under ``data_dir``.
    database_url: str = ""
    #: Where embedded mode keeps its database and generated secret.
    data_dir: Path = Path("var")
    #: Signs one-time links; generated and kept in ``data_dir`` when not given.
    secret_key: str = ""
    #: ``development`` shows the local mailbox and demo hints; ``production`` does not.
    environment: str = "development"
    #: The address people use to reach the web app (links in e-mails).
    base_url: str = "http://127.0.0.1:8000"
    #: Run the background worker inside ``careplane serve`` (the embedded default).
    embedded_worker: bool = True
    #: ``outbox`` keeps mail in the database only (readable at /mailbox in the embedded demo);
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
    log_json: bool = True
    log_level: str = "INFO"
    #: Worker tuning.
    worker_poll_seconds: float = Field(1.0, gt=0)
    worker_max_attempts: int = 8

    @property
    def embedded(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'careplane.db').resolve()}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        if self.environment == "production":
            raise RuntimeError("CAREPLANE_SECRET_KEY must be set in production")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        self.secret_key = key_file.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
