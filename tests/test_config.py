"""Settings: env over secrets.toml, the cookie key, and the hardening that must stay on."""

from __future__ import annotations

import stat
import tomllib

from forge import config


def test_env_wins_over_secrets_and_secrets_fill_gaps(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OPENAI_API_KEY = "from-secrets"\n[forge]\nFORGE_LOCKOUT_MINUTES = "30"\n')
    monkeypatch.setenv("FORGE_SECRETS", str(secrets))
    assert config.get("OPENAI_API_KEY") == "from-secrets"
    assert config.settings().lockout_minutes == 30
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert config.get("OPENAI_API_KEY") == "from-env"


def test_broken_secrets_file_is_ignored_not_fatal(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("this is = = not toml")
    monkeypatch.setenv("FORGE_SECRETS", str(secrets))
    assert config.get("OPENAI_API_KEY") is None


def test_cookie_key_generated_once_kept_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("FORGE_COOKIE_KEY")
    monkeypatch.setenv("FORGE_DB", str(tmp_path / "db" / "forge.duckdb"))
    first = config.settings().cookie_key
    key_file = tmp_path / "db" / ".cookie_key"
    assert key_file.read_text() == first and len(first) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert config.settings().cookie_key == first  # not regenerated: logins survive restarts
    monkeypatch.setenv("FORGE_COOKIE_KEY", "explicit-key")
    assert config.settings().cookie_key == "explicit-key"


def test_cookie_expires_after_seven_days_by_default(monkeypatch):
    assert config.settings().cookie_expiry_days == 7
    monkeypatch.setenv("FORGE_COOKIE_EXPIRY_DAYS", "1.5")
    assert config.settings().cookie_expiry_days == 1.5


def test_generated_key_and_database_are_git_ignored():
    ignored = (config.ROOT / ".gitignore").read_text().splitlines()
    assert "data/.cookie_key" in ignored and "data/*.duckdb" in ignored
    assert ".streamlit/secrets.toml" in ignored


def test_streamlit_xsrf_protection_stays_on():
    cfg = tomllib.loads((config.ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["browser"]["gatherUsageStats"] is False
