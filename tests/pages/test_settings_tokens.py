"""Settings > API tokens: create (shown once), list, revoke; only a hash is kept."""

from __future__ import annotations

from forge import tokens


def _token_codes(at) -> list[str]:
    return [c.value for c in at.code if c.value.startswith("forge_")]


def test_create_show_once_list_and_revoke(app_as, db, analyst):
    at = app_as("ana", page="pages/settings.py")
    assert not at.exception
    assert any("no API tokens yet" in i.value for i in at.info)
    name_box = next(t for t in at.text_input if t.label == "Token name")
    name_box.input("CI")
    next(b for b in at.button if b.label == "Create token").click()
    at.run()
    assert not at.exception
    shown = _token_codes(at)
    assert len(shown) == 1
    token = shown[0]
    assert any("not shown again" in s.value for s in at.success)
    # It works, it belongs to ana, and the database holds only its hash.
    assert tokens.user_for_token(db, token).username == "ana"
    assert db.fetchall("SELECT token_hash FROM api_tokens") == [(tokens.hash_token(token),)]
    assert any("FORGE_URL" in c.value and "/api/v1/me" in c.value for c in at.code)
    # Shown once: the next run lists the token by name but never shows it again.
    at.run()
    assert _token_codes(at) == []
    assert "CI" in at.dataframe[0].value["Name"].tolist()
    assert not any("no API tokens yet" in i.value for i in at.info)
    # Revoke: it stops working at once and leaves the list.
    revoke = [b for b in at.button if b.label == "Revoke"]
    assert len(revoke) == 1
    revoke[0].click()
    at.run()
    assert not at.exception
    assert tokens.user_for_token(db, token) is None
    assert any("revoked" in s.value for s in at.success)
    assert any("no API tokens yet" in i.value for i in at.info)


def test_bad_names_are_explained_and_tokens_are_per_user(app_as, db, admin, analyst):
    tokens.create_token(db, admin, "admin's own")
    at = app_as("ana", page="pages/settings.py")
    next(b for b in at.button if b.label == "Create token").click()
    at.run()
    assert any("Give the token a name" in e.value for e in at.error)
    assert _token_codes(at) == []
    tokens.create_token(db, analyst, "laptop")
    at.run()
    next(t for t in at.text_input if t.label == "Token name").input("laptop")
    next(b for b in at.button if b.label == "Create token").click()
    at.run()
    assert any("already have a token called 'laptop'" in e.value for e in at.error)
    # ana sees only her own token, not the admin's.
    assert at.dataframe[0].value["Name"].tolist() == ["laptop"]


def test_page_help_mentions_the_api(app_as):
    at = app_as("admin", page="pages/settings.py")
    assert any(e.label == "What is this page for?" for e in at.expander)
    assert any("/api/v1" in m.value for m in at.markdown)


def test_a_token_may_expire_and_the_list_says_when(app_as, db, analyst):
    from datetime import timedelta

    from forge.store import utcnow

    at = app_as("ana", page="pages/settings.py")
    next(t for t in at.text_input if t.label == "Token name").input("CI")
    next(n for n in at.number_input if n.label.startswith("Expires in N days")).set_value(7)
    next(b for b in at.button if b.label == "Create token").click()
    at.run()
    assert not at.exception
    expires = tokens.list_tokens(db, analyst)[0]["expires_at"]
    assert timedelta(days=6, hours=23) < expires - utcnow() <= timedelta(days=7)
    assert any(f"expires on {expires:%Y-%m-%d %H:%M} UTC" in s.value for s in at.success)
    # How to send traces with it, and where every endpoint is described.
    assert any("-d '[{" in c.value and "/api/v1/traces" in c.value for c in at.code)
    assert any("/api/v1/openapi.json" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert table["Expires (UTC)"].tolist() == [f"{expires:%Y-%m-%d %H:%M}"]
    assert "Last used (UTC)" in table.columns
    # 0 days: never; a token past its expiry is listed as expired until revoked.
    tokens.create_token(db, analyst, "forever")
    db.execute("UPDATE api_tokens SET expires_at = ? WHERE name = 'CI'", [utcnow() - timedelta(hours=1)])
    at.run()
    shown = dict(zip(at.dataframe[0].value["Name"], at.dataframe[0].value["Expires (UTC)"], strict=True))
    assert shown["forever"] == "never" and shown["CI"].endswith("(expired)")
    assert any("**expired**" in m.value for m in at.markdown)
