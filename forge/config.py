"""Settings from FORGE_* (and provider) environment variables and .streamlit/secrets.toml.

Environment wins over secrets. API keys are read here on demand and are never
written to the database or to logs.
"""

from __future__ import annotations

import logging
import os
import re
import secrets as _secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "forge.duckdb"
MIN_PASSWORD_LENGTH = 10


def _secrets_file() -> Path:
    return Path(os.environ.get("FORGE_SECRETS", ROOT / ".streamlit" / "secrets.toml"))


# path -> ((mtime_ns, size), parsed): settings are read on every use, the file parsed only when it changes.
_parsed_secrets: dict[Path, tuple[tuple[int, int], dict]] = {}


def read_secrets() -> dict:
    """The parsed secrets.toml (do not mutate), or {} when there is none (or it is unreadable)."""
    path = _secrets_file()
    try:
        st = path.stat()
    except OSError:
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _parsed_secrets.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        with open(path, "rb") as fh:
            parsed = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        parsed = {}
    _parsed_secrets[path] = (stamp, parsed)
    return parsed


def get(name: str, default: str | None = None) -> str | None:
    """A setting by its env-var name: env first, then secrets.toml (top level or [forge])."""
    value = os.environ.get(name)
    if value not in (None, ""):
        return value
    sec = read_secrets()
    for table in (sec, sec.get("forge", {}) if isinstance(sec.get("forge"), dict) else {}):
        if name in table and table[name] not in (None, ""):
            return str(table[name])
        if name.lower() in table and table[name.lower()] not in (None, ""):
            return str(table[name.lower()])
    return default


_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD)$", re.IGNORECASE)


# Credentials Forge learned from a setting that is not key-named (a base URL's user:password
# or ?api_key=): masked like the keys, wherever they show up (a server may echo them).
_known_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Mask ``value`` in everything :func:`redact` cleans from now on (this process)."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def secret_values() -> list[str]:
    """Values of every key-like setting (``*_KEY``, ``*_SECRET``, ``*_TOKEN``, ``*_PASSWORD``) in env and secrets."""
    found = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and v}
    sec = read_secrets()
    for table in (sec, sec.get("forge") if isinstance(sec.get("forge"), dict) else {}):
        found |= {str(v) for k, v in table.items() if _SECRET_NAME.search(k) and isinstance(v, (str, int)) and v}
    # Longest first, so a key that contains another is hidden whole; short values are not secrets.
    keys = (v for v in found if len(v) >= 8)
    return sorted({*keys, *_known_secrets}, key=len, reverse=True)


# Query parameters whose value is a credential (``?api_key=…``, ``&sig=…``, ``X-Amz-Signature=…``).
_SECRET_PARAM = re.compile(
    r"(?:^|[-_.])(?:api[-_]?key|key|token|secret|password|passwd|pwd|sig|signature|auth|credentials?|"
    r"code)$|^(?:access|refresh|id|client|session)[-_]?(?:token|secret)$",
    re.IGNORECASE,
)
# A URL inside free text stops at a space, a quote or a bracket, and never ends on punctuation.
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`()\[\]{},]*[^\s'\"<>`()\[\]{},.:;!?]")
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#\s]+)=([^&;#\s'\"<>`()\[\]{},]*)")
MASK = "***"


def redact_url(url: str | None) -> str | None:
    """``url`` with its user:password and any credential-like query value replaced by ``***``.

    ``http://user:pw@host/v1?api_key=k&x=1`` -> ``http://***@host/v1?api_key=***&x=1``. The
    user name goes too: a token is often passed as the user (``https://TOKEN@host``).
    """
    if not url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # The authority ends at the first / ? or #; its userinfo before the last @.
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = MASK + "@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{_redact_query(tail)}"


def is_secret_param(name: str) -> bool:
    """True when a query parameter called ``name`` carries a credential (api_key, token, sig, ...)."""
    return bool(_SECRET_PARAM.search(name))


def _redact_query(text: str) -> str:
    return _QUERY_PAIR.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if is_secret_param(m[2]) and m[3] else m[0], text)


def redact(text: str | None) -> str | None:
    """``text`` with any configured key, and any credential inside a URL, replaced by ``***``.

    For every error, URL and log line that is stored or shown.
    """
    if not text:
        return text
    for value in secret_values():
        text = text.replace(value, MASK)
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m[0]) or "", text)
    if "=" in text:  # a path echoed without its host: /v1/chat?api_key=…
        text = _redact_query(text)
    return text


# The loggers that print request URLs (httpx at INFO, the SDKs at DEBUG; some installs name
# them httpx2/httpcore2): a URL may carry ?api_key= or user:password.
_URL_LOGGERS = re.compile(r"^(?:httpx|httpcore|openai|anthropic|urllib3|langfuse)")


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a badly formatted record is logging's to report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None


def redact_logs() -> None:
    """Clean every record of the HTTP clients' loggers through :func:`redact`; safe to call again.

    A record factory rather than logger filters: it covers those loggers' children and
    loggers created later, whichever handler prints them.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "forge_redacting", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _URL_LOGGERS.match(record.name):
            _scrub(record)
        return record

    factory.forge_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


@dataclass(frozen=True)
class Settings:
    db_path: Path
    cookie_name: str
    cookie_expiry_days: float
    max_failed_logins: int
    lockout_minutes: float
    catalog_path: Path

    @property
    def cookie_key(self) -> str:
        """Read (or generated) only when the login needs it, not on every settings() call."""
        return _cookie_key(self.db_path)


def server_info_path(db_path: Path | str) -> Path:
    """Where a server on ``db_path`` says where it listens (written by forge.ui.server, read by forge.remote)."""
    return Path(str(db_path) + ".server.json")


def _cookie_key(db_path: Path) -> str:
    """FORGE_COOKIE_KEY, else a key generated once and kept beside the database (git-ignored)."""
    key = get("FORGE_COOKIE_KEY")
    if key:
        return key
    key_file = Path(get("FORGE_COOKIE_KEY_FILE") or db_path.parent / ".cookie_key")
    try:
        existing = key_file.read_text(encoding="utf-8").strip()
        if existing:
            return existing
    except OSError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True)
    new = _secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    return new


def settings() -> Settings:
    """Current settings (read afresh each call: tests change the environment)."""
    db_path = Path(get("FORGE_DB") or DEFAULT_DB).expanduser()
    return Settings(
        db_path=db_path,
        cookie_name=get("FORGE_COOKIE_NAME") or "forge_auth",
        cookie_expiry_days=float(get("FORGE_COOKIE_EXPIRY_DAYS") or 7),
        max_failed_logins=int(get("FORGE_MAX_FAILED_LOGINS") or 5),
        lockout_minutes=float(get("FORGE_LOCKOUT_MINUTES") or 15),
        catalog_path=Path(get("FORGE_CATALOG") or ROOT / "forge" / "llm" / "catalog.toml"),
    )
