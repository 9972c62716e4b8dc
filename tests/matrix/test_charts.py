"""The matrix page's chart specs (Altair .to_dict()) and the cell styling: colour-blind-safe, labelled."""

from __future__ import annotations

import pandas as pd

from forge import matrix
from forge.ui import matrix_charts, matrix_view

OKABE_ITO = {"#009E73", "#D55E00", "#E69F00"}


def stats_of(known):
    cols = matrix.columns(known.access, known.eval_set_id)
    return cols, matrix.statistics(known.access, known.eval_set_id, cols, 0.25)


def test_confusion_chart_spec(known):
    _, stats = stats_of(known)
    table = matrix.stats_table(stats)
    frame = matrix_charts.confusion_frame(table.iloc[:-1].to_dict("records"))
    alpha = frame[frame["eval"] == "alpha v2"].set_index(["human", "verdict"])["traces"]
    assert alpha.to_dict() == {("fail", "fail"): 2, ("pass", "fail"): 1, ("fail", "pass"): 1, ("pass", "pass"): 3}
    spec = matrix_charts.confusion_chart(frame).to_dict()
    assert spec["facet"]["field"] == "eval"
    layers = spec["spec"]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["rect", "text"]
    colour = layers[0]["encoding"]["color"]
    assert colour["scale"]["range"] == ["#009E73", "#D55E00"]  # green agree, vermillion contradiction
    assert layers[1]["encoding"]["text"]["field"] == "traces"  # the count is written in every cell


def test_agreement_heatmap_spec(known):
    cols, stats = stats_of(known)
    frame = matrix_charts.agreement_frame(stats.pairs, sorted(c["label"] for c in cols))
    assert len(frame) == 9  # 3 x 3, diagonal included
    pair = frame[(frame["a"] == "beta v1") & (frame["b"] == "alpha v2")].iloc[0]
    assert pair["agreement"] == 5 / 9
    spec = matrix_charts.agreement_heatmap(frame).to_dict()
    rect, text = spec["layer"]
    assert rect["mark"]["type"] == "rect" and rect["encoding"]["color"]["field"] == "agreement"
    assert rect["encoding"]["color"]["scale"]["domain"] == [0, 1]
    assert text["encoding"]["text"]["format"] == ".0%"


def test_weekly_chart_spec(known):
    _, stats = stats_of(known)
    spec = matrix_charts.weekly_chart(stats.weekly).to_dict()
    line, points = spec["layer"]
    assert line["mark"]["type"] == "line" and line["encoding"]["x"]["field"] == "week"
    assert line["encoding"]["color"]["field"] == "eval"
    assert points["encoding"]["shape"]["field"] == "eval"  # a shape per eval, not only a colour
    data = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert set(data["eval"]) == {"alpha v2", "beta v1", "gamma v1"} and len(data) == 6


def test_cells_carry_symbol_and_safe_colours(known):
    cols = matrix.columns(known.access, known.eval_set_id)
    result = matrix.page(known.access, known.eval_set_id, cols)
    styler = matrix_view.page_frame(result, cols)
    table = styler.data
    assert list(table.loc[0, ["alpha v2", "beta v1", "gamma v1"]]) == ["! error", "✗ pass", "✗ pass"]
    html = styler.to_html()
    assert "background-color: #D55E00" in html and "background-color: #E69F00" in html
    assert {bg for bg, _ in matrix_view.CELL_STYLES.values()} - {"#BBBBBB"} == OKABE_ITO
    legend = matrix_view.legend()
    for symbol in "✓✗!·":
        assert symbol in legend
