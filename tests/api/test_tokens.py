"""API tokens: made per user, shown once, only a hash kept, revocable, dead with a disabled user."""

from __future__ import annotations

import pytest

from forge import auth, tokens


def test_only_the_hash_is_stored_and_the_token_finds_its_user(db, analyst):
    token, row = tokens.create_token(db, analyst, "CI")
    assert token.startswith("forge_") and len(token) > 40
    stored = db.fetchall("SELECT name, token_hash FROM api_tokens")
    assert stored == [("CI", tokens.hash_token(token))]
    dumped = " ".join(str(v) for r in db.fetchall("SELECT * FROM api_tokens") for v in r)
    assert token not in dumped and token[6:] not in dumped
    assert "token" not in row and "token_hash" not in row
    assert tokens.user_for_token(db, token).username == "ana"


def test_two_tokens_differ_and_names_are_checked(db, analyst):
    a, _ = tokens.create_token(db, analyst, "laptop")
    b, _ = tokens.create_token(db, analyst, "CI")
    assert a != b
    with pytest.raises(auth.AuthError, match="already have a token called 'laptop'"):
        tokens.create_token(db, analyst, "laptop")
    with pytest.raises(auth.AuthError, match="name"):
        tokens.create_token(db, analyst, "   ")
    with pytest.raises(auth.AuthError, match="at most 64"):
        tokens.create_token(db, analyst, "x" * 65)
    assert [t["name"] for t in tokens.list_tokens(db, analyst)] == ["CI", "laptop"]


def test_revoked_token_stops_working_and_only_its_owner_revokes_it(db, admin, analyst):
    token, row = tokens.create_token(db, analyst, "CI")
    with pytest.raises(auth.AuthError, match="No such token"):
        tokens.revoke_token(db, admin, row["id"])  # not the admin's token
    assert tokens.user_for_token(db, token) is not None
    tokens.revoke_token(db, analyst, row["id"])
    assert tokens.user_for_token(db, token) is None
    assert tokens.list_tokens(db, analyst) == []
    assert [t["revoked"] for t in tokens.list_tokens(db, analyst, include_revoked=True)] == [True]
    with pytest.raises(auth.AuthError):
        tokens.revoke_token(db, analyst, row["id"])
    # The name is free again once the old token is revoked.
    tokens.create_token(db, analyst, "CI")


def test_disabled_user_tokens_fail_until_enabled(db, admin, analyst):
    token, _ = tokens.create_token(db, analyst, "CI")
    auth.set_disabled(db, admin, "ana", True)
    assert tokens.user_for_token(db, token) is None
    auth.set_disabled(db, admin, "ana", False)
    assert tokens.user_for_token(db, token).username == "ana"


@pytest.mark.parametrize("bad", [None, "", "forge_", "Bearer x", "forge_" + "a" * 43, "sk-" + "a" * 40])
def test_unknown_or_malformed_tokens_find_nobody(db, analyst, bad):
    tokens.create_token(db, analyst, "CI")
    assert tokens.user_for_token(db, bad) is None


def test_last_use_is_recorded(db, analyst):
    token, _ = tokens.create_token(db, analyst, "CI")
    assert tokens.list_tokens(db, analyst)[0]["last_used_at"] is None
    tokens.user_for_token(db, token)
    assert tokens.list_tokens(db, analyst)[0]["last_used_at"] is not None


def _forge(*args: str, db_path, stdin: str | None = None):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "FORGE_DB": str(db_path),
        "FORGE_USER": "ana",
        "FORGE_PASSWORD": "correct horse battery staple",
    }
    return subprocess.run(
        [sys.executable, "-m", "forge", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_forge_token_create_list_revoke(tmp_path, db, analyst):
    import json

    db_path = db.path
    db.close()  # the command opens the file itself
    made = _forge("token", "create", "CI", db_path=db_path)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("forge_") and "\n" not in token
    listed = _forge("token", "list", "--json", db_path=db_path)
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["CI"]
    assert token not in listed.stdout
    again = _forge("token", "create", "CI", db_path=db_path)
    assert again.returncode == 2 and "already have a token called 'CI'" in again.stderr
    from forge.store import connect

    check = connect(db_path)
    try:
        assert tokens.user_for_token(check, token).username == "ana"
    finally:
        check.close()
    gone = _forge("token", "revoke", "CI", db_path=db_path)
    assert gone.returncode == 0 and "revoked token 'CI'" in gone.stdout
    assert _forge("token", "revoke", "CI", db_path=db_path).returncode == 2
    check = connect(db_path)
    try:
        assert tokens.user_for_token(check, token) is None
    finally:
        check.close()


def test_a_token_with_an_expiry_works_until_then(db, analyst):
    from datetime import timedelta

    from forge.store import utcnow

    token, row = tokens.create_token(db, analyst, "CI", expires_in_days=30)
    assert timedelta(days=29, hours=23) < row["expires_at"] - utcnow() <= timedelta(days=30)
    assert tokens.user_for_token(db, token).username == "ana"
    listed = tokens.list_tokens(db, analyst)[0]
    assert listed["expires_at"] == row["expires_at"] and listed["expired"] is False
    never, row = tokens.create_token(db, analyst, "forever")
    assert row["expires_at"] is None
    # Its time passes (set in the row: a test does not wait 30 days).
    db.execute("UPDATE api_tokens SET expires_at = ? WHERE name = 'CI'", [utcnow() - timedelta(minutes=1)])
    assert tokens.user_for_token(db, token) is None
    assert "expired on" in tokens.refusal(db, token) and token not in tokens.refusal(db, token)
    assert tokens.user_for_token(db, never).username == "ana"
    assert {t["name"]: t["expired"] for t in tokens.list_tokens(db, analyst)} == {"CI": True, "forever": False}
    # An expired token's name may be used again.
    tokens.create_token(db, analyst, "CI", expires_in_days=1)


@pytest.mark.parametrize("days", [0, -1, 3651, 1.5, "7", True])
def test_bad_expiries_are_refused(db, analyst, days):
    with pytest.raises(auth.AuthError, match="days"):
        tokens.create_token(db, analyst, "CI", expires_in_days=days)
    assert tokens.list_tokens(db, analyst) == []


def test_refusal_says_why_without_the_token(db, admin, analyst):
    token, row = tokens.create_token(db, analyst, "CI")
    assert tokens.refusal(db, "garbage").startswith("not a Forge token")
    assert tokens.refusal(db, "forge_" + "a" * 43) == "unknown token"
    auth.set_disabled(db, admin, "ana", True)
    assert "disabled" in tokens.refusal(db, token)
    auth.set_disabled(db, admin, "ana", False)
    tokens.revoke_token(db, analyst, row["id"])
    assert "revoked" in tokens.refusal(db, token)


def test_the_rate_limiter_allows_a_minutes_worth_then_refills():
    from forge.api.core import RateLimiter

    limiter = RateLimiter()
    assert all(limiter.take("k", 60, now=100.0) == 0 for _ in range(60))
    wait = limiter.take("k", 60, now=100.0)
    assert 0.9 < wait <= 1.0  # one request a second comes back
    assert limiter.take("other", 60, now=100.0) == 0  # per key
    assert limiter.take("k", 60, now=101.01) == 0
    assert limiter.take("k", 0, now=101.01) == 0  # 0: no limit


def test_forge_token_create_with_an_expiry(tmp_path, db, analyst):
    db_path = db.path
    db.close()
    made = _forge("token", "create", "short", "--expires-days", "3", db_path=db_path)
    assert made.returncode == 0, made.stderr
    _forge("token", "create", "long", db_path=db_path)
    listed = _forge("token", "list", db_path=db_path).stdout.splitlines()
    short = next(line for line in listed if line.startswith("short"))
    long = next(line for line in listed if line.startswith("long"))
    assert "expires never" in long and "expires 20" in short and "(expired)" not in short
    bad = _forge("token", "create", "bad", "--expires-days", "0", db_path=db_path)
    assert bad.returncode == 2 and "1 to 3650 days" in bad.stderr
