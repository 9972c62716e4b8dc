"""The matrix page's Altair charts: confusion matrices, eval-vs-eval agreement, agreement over time.

Colours: the Okabe-Ito palette (safe for the common colour-vision deficiencies), every mark also labelled
with its number, so nothing is read from colour alone; no fixed background, so light and dark themes work.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from forge.evals.metrics import EvalPairAgreement

# Okabe & Ito (2008): bluish green, vermillion, orange, grey.
AGREE_GREEN = "#009E73"
CONTRADICT_VERMILLION = "#D55E00"
ERROR_ORANGE = "#E69F00"
UNRATED_GREY = "#999999"


def confusion_frame(stats_rows: Sequence[dict]) -> pd.DataFrame:
    """Long form of each eval's confusion counts: eval, human, verdict, traces, agrees."""
    rows = []
    for r in stats_rows:
        for human, verdict, key in (
            ("fail", "fail", "caught"),
            ("pass", "fail", "false_failures"),
            ("fail", "pass", "missed"),
            ("pass", "pass", "agreed_passes"),
        ):
            rows.append(
                {
                    "eval": r["eval"],
                    "human": human,
                    "verdict": verdict,
                    "traces": int(r[key]),
                    "agrees": human == verdict,
                }
            )
    return pd.DataFrame(rows, columns=["eval", "human", "verdict", "traces", "agrees"])


def confusion_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """One 2x2 confusion matrix per eval: green where the eval agrees with the humans, vermillion where not."""
    base = alt.Chart(frame).encode(
        x=alt.X("verdict:N", title="eval verdict", sort=["fail", "pass"]),
        y=alt.Y("human:N", title="human label", sort=["fail", "pass"]),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "agrees:N",
            scale=alt.Scale(domain=[True, False], range=[AGREE_GREEN, CONTRADICT_VERMILLION]),
            legend=alt.Legend(title="agrees with humans", labelExpr="datum.value ? '✓ agree' : '✗ contradiction'"),
        ),
        opacity=alt.Opacity("traces:Q", scale=alt.Scale(range=[0.35, 1]), legend=None),
        tooltip=["eval", "human", "verdict", alt.Tooltip("traces:Q", format=",")],
    )
    text = base.mark_text(fontSize=13, fontWeight="bold", color="white").encode(text=alt.Text("traces:Q", format=","))
    return (
        alt.layer(cells, text, data=frame)
        .properties(width=120, height=120)
        .facet(facet=alt.Facet("eval:N", title=None), columns=4)
    )


def agreement_frame(pairs: Sequence[EvalPairAgreement], names: Sequence[str]) -> pd.DataFrame:
    """Both triangles and the diagonal of the eval-vs-eval agreement matrix."""
    rows = [{"a": n, "b": n, "agreement": 1.0, "kappa": 1.0, "n": None} for n in names]
    for p in pairs:
        for a, b in ((p.eval_a, p.eval_b), (p.eval_b, p.eval_a)):
            rows.append({"a": a, "b": b, "agreement": p.agreement, "kappa": p.kappa, "n": p.n})
    return pd.DataFrame(rows, columns=["a", "b", "agreement", "kappa", "n"])


def agreement_heatmap(frame: pd.DataFrame) -> alt.LayerChart:
    """Share of traces two evals judge alike: near 1 (dark) = redundant evals."""
    base = alt.Chart(frame).encode(
        x=alt.X("a:N", title=None, axis=alt.Axis(labelAngle=-30)), y=alt.Y("b:N", title=None)
    )
    cells = base.mark_rect().encode(
        color=alt.Color("agreement:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="agreement"),
        tooltip=[
            alt.Tooltip("a:N", title="eval"),
            alt.Tooltip("b:N", title="vs"),
            alt.Tooltip("agreement:Q", format=".0%"),
            alt.Tooltip("kappa:Q", format=".2f"),
            alt.Tooltip("n:Q", title="traces", format=","),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("agreement:Q", format=".0%"),
        color=alt.condition("datum.agreement > 0.6", alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, text).properties(height=max(160, 34 * frame["a"].nunique()))


def weekly_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Agreement with the humans by week of trace timestamp: a line (with point shapes) per eval."""
    base = alt.Chart(frame).encode(
        x=alt.X("week:T", title="week of trace timestamp"),
        y=alt.Y(
            "agreement:Q", title="agreement with humans", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
        ),
        color=alt.Color("eval:N", scale=alt.Scale(scheme="tableau10"), title="eval"),
    )
    line = base.mark_line()
    points = base.mark_point(filled=True, size=50).encode(
        shape=alt.Shape("eval:N", legend=None),
        tooltip=[
            "eval",
            alt.Tooltip("week:T", format="%Y-%m-%d"),
            alt.Tooltip("agreement:Q", format=".1%"),
            alt.Tooltip("agreed:Q", format=","),
            alt.Tooltip("contradicted:Q", format=","),
        ],
    )
    return alt.layer(line, points).properties(height=280)
