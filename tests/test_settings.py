"""Settings come from CAREPLANE_* environment variables or a .env file in the working directory."""

from __future__ import annotations

from careplane.settings import Settings


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("CAREPLANE_DATABASE_URL", "CAREPLANE_SESSION_HOURS", "CAREPLANE_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "CAREPLANE_DATABASE_URL=postgresql+psycopg://u@db:5432/care\nCAREPLANE_SESSION_HOURS=3\n"
        "CAREPLANE_ENVIRONMENT=production\n"
    )
    monkeypatch.setenv("CAREPLANE_SESSION_HOURS", "5")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@db:5432/care"
    assert settings.session_hours == 5
    assert settings.environment == "production"


def test_without_a_database_url_embedded_mode_uses_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAREPLANE_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    assert settings.embedded
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'data' / 'careplane.db'}"
