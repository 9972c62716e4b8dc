"""The figures around every eval: the human ceiling, warnings, flags and the kappa bands."""

from __future__ import annotations

from forge.evals import authoring
from forge.evals.metrics import eval_metrics
from tests.evalgen.conftest import store_rated_set
from tests.evals.handmade import placeholder_set


def test_ceiling_is_the_mean_pairwise_kappa_of_the_raters():
    rows = [
        *({"trace_id": f"t{i}", "rater": "ana", "value": "pass" if i % 2 else "fail"} for i in range(10)),
        *({"trace_id": f"t{i}", "rater": "bob", "value": "pass" if i % 2 else "fail"} for i in range(10)),
        *({"trace_id": f"t{i}", "rater": "cy", "value": "pass"} for i in range(10)),
    ]
    c = authoring.ceiling(rows)
    # ana-bob agree fully (kappa 1), each with cy (always pass) kappa 0: mean 1/3.
    assert c["raters"] == 3 and c["pairs"] == 3 and c["kappa"] == round(1 / 3, 4)
    assert "mean pairwise kappa 0.33 over 3 rater pair(s)" in c["text"]
    assert authoring.ceiling(rows[:10])["text"] == "no second rater yet"


def test_flags_and_bands_follow_the_thresholds():
    good = authoring.figures(eval_metrics([True] * 8 + [False] * 2, [True] * 8 + [False] * 2))
    assert good["accuracy"] == 1.0 and good["flags"] == []
    poor = authoring.figures(eval_metrics([True, False, True, False, True], [True, True, False, False, True]))
    assert poor["accuracy"] == 0.6
    assert poor["flags"] == ["accuracy 60% is under 80%", f"kappa {poor['kappa']:.2f} is under 0.4"]
    assert authoring.kappa_band(0.6) == ("green", "✔ 0.60 good")
    assert authoring.kappa_band(0.45) == ("orange", "▲ 0.45 fair")
    assert authoring.kappa_band(0.1) == ("red", "✖ 0.10 poor")
    assert authoring.kappa_band(None)[1] == "— n/a"


def test_a_small_class_is_warned_about_and_two_raters_give_a_ceiling(admin_access, monkeypatch, capsys):
    traces, labels = placeholder_set(30)  # 10 fails, 20 passes
    es, _ = store_rated_set(admin_access, "Small", traces, labels, "No [name]", raters=("ana", "bob"))
    summary = authoring.synthesise_set(admin_access, es["id"])
    assert summary["warnings"] == ["only 10 fail ratings (fewer than 20): every figure is rough"]
    assert summary["ceiling"]["kappa"] == 1.0 and summary["ceiling"]["raters"] == 2

    from forge import cli
    from tests.conftest import PASSWORD

    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    assert cli.main(["eval", "synth", "--eval-set", "Small"]) == 0
    out = capsys.readouterr().out
    assert "Small: 30 ratings (20 pass, 10 fail)" in out and "KEPT" in out and "rejected" in out
    assert "ceiling (humans): mean pairwise kappa 1.00" in out and "warning: only 10 fail ratings" in out
