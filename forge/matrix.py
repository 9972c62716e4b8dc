"""The contradiction matrix: an eval set's traces x its evals beside the human label, its statistics,
its exports, the drill-down's actions and the round trip to Langfuse.

Counting happens in DuckDB (``forge.store.matrix``); this module turns counts into figures with
``forge.evals.metrics`` and ``forge.review.agreement`` and pivots only the visible page.

**Which lines decided a verdict** (``decisive_lines``): an eval's reason may point at its own code.
- ``line 12`` / ``lines 12-14`` / ``lines 3, 7`` / ``L12`` (case-insensitive) name source lines;
- text in quotes (``'...'``, ``"..."``, or backticks) or between slashes (``/refund(ed)?/``) that also
  appears in the source marks every line containing it (e.g. ``matched 'I don't know'`` marks the line
  holding that pattern).
A reason that does neither highlights nothing. Eval authors (and the generator's prompt) can follow this
to make verdicts explain themselves.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from forge.evals import metrics
from forge.evals.metrics import EvalMetrics, EvalPairAgreement, MinimalEvalSet
from forge.review import ratings as review_ratings
from forge.review.agreement import AgreementReport, agreement
from forge.store import matrix as store
from forge.store import ratings as rating_store
from forge.store.access import Access
from forge.store.matrix import MatrixFilters, MatrixPage

__all__ = [
    "MatrixFilters",
    "MatrixPage",
    "MatrixStats",
    "columns",
    "page",
    "statistics",
    "pivot",
    "export_frame",
    "cli_frame",
    "decisive_lines",
    "rerate",
    "mark_label_wrong",
    "refine_target",
    "langfuse_scores",
    "push_to_langfuse",
]

SYMBOLS = {"agree": "✓", "contradiction": "✗", "error": "!", "unrated": "·", None: ""}
VERDICT_WORDS = {True: "pass", False: "fail", None: "error"}
DEFAULT_MAX_FALSE_FAILURE = 0.1


# The per-trace summary (one pass over eval_results) of recent (database, set, versions, data version)s:
# paging, sorting, filtering and statistics then read it instead of every result again.
_SUMMARIES: OrderedDict[tuple, pa.Table] = OrderedDict()
_SUMMARIES_LOCK = threading.Lock()
_HUMAN: OrderedDict[tuple, tuple[AgreementReport, int]] = OrderedDict()  # the humans' agreement, likewise
SUMMARY_CACHE_SIZE = 4


def trace_summary(access: Access, eval_set_id: str, version_ids: Sequence[str]) -> pa.Table:
    """``store.trace_summary``, remembered until the set's ratings, resolutions, evals, results or traces change."""
    key = (
        access.db.path,
        id(access.db),
        access.workspace_id,
        eval_set_id,
        tuple(version_ids),
        store.data_version(access, eval_set_id),
    )
    with _SUMMARIES_LOCK:
        if key in _SUMMARIES:
            _SUMMARIES.move_to_end(key)
            return _SUMMARIES[key]
    table = store.trace_summary(access, eval_set_id, list(version_ids))
    with _SUMMARIES_LOCK:
        _SUMMARIES[key] = table
        while len(_SUMMARIES) > SUMMARY_CACHE_SIZE:
            _SUMMARIES.popitem(last=False)
    return table


def columns(access: Access, eval_set_id: str, all_versions: bool = False) -> list[dict]:
    """The matrix's eval columns: current versions, or every version when ``all_versions``."""
    return store.eval_columns(access, eval_set_id, all_versions)


def page(
    access: Access,
    eval_set_id: str,
    cols: Sequence[dict],
    filters: MatrixFilters | None = None,
    *,
    page_no: int = 1,
    page_size: int = 50,
    sort: str = "contradictions",
) -> MatrixPage:
    """One page of the matrix (rows filtered and sorted in SQL; cells of the page's rows only)."""
    vids = [c["version_id"] for c in cols]
    return store.matrix_page(
        access,
        eval_set_id,
        vids,
        filters,
        page=page_no,
        page_size=page_size,
        sort=sort,
        summary=trace_summary(access, eval_set_id, vids),
    )


def pivot(result: MatrixPage, cols: Sequence[dict]) -> pd.DataFrame:
    """The page as one row per trace: trace fields, then per column the cell status and verdict."""
    cell_of = {(c["trace_id"], c["version_id"]): c for c in result.cells}
    out = []
    for r in result.rows:
        row = dict(r)
        for col in cols:
            cell = cell_of.get((r["trace_id"], col["version_id"]))
            row[col["label"]] = cell["status"] if cell else None
            row[col["label"] + " verdict"] = VERDICT_WORDS[cell["verdict"]] if cell else None
        out.append(row)
    return pd.DataFrame(out)


# ---------------------------------------------------------------- statistics


@dataclass(frozen=True)
class EvalStat:
    column: dict
    metrics: EvalMetrics


@dataclass(frozen=True)
class MatrixStats:
    """Everything the statistics panel shows for one eval set."""

    evals: list[EvalStat]
    human: AgreementReport  # on the traces two raters or more rated
    human_rated: int  # traces with a pass/fail rating
    pairs: list[EvalPairAgreement]
    minimal: MinimalEvalSet | None
    max_false_failure: float
    weekly: pd.DataFrame  # week, eval, agreed, contradicted, agreement
    labels: dict[str, int] = field(default_factory=dict)  # pass/fail/none -> traces

    @property
    def human_agreement(self) -> float | None:
        """Pairwise percent agreement of the raters, weighted by traces shared: the ceiling for an eval."""
        shared = sum(p.n_shared for p in self.human.pairs if p.percent_agreement is not None)
        if not shared:
            return None
        return (
            sum(p.percent_agreement * p.n_shared for p in self.human.pairs if p.percent_agreement is not None) / shared
        )

    @property
    def human_kappa(self) -> float | None:
        """Cohen's kappa for two raters, else Fleiss' kappa, else Krippendorff's alpha."""
        if len(self.human.pairs) == 1:
            return self.human.pairs[0].kappa
        return self.human.fleiss_kappa if self.human.fleiss_kappa is not None else self.human.krippendorff_alpha


def statistics(
    access: Access,
    eval_set_id: str,
    cols: Sequence[dict],
    max_false_failure: float = DEFAULT_MAX_FALSE_FAILURE,
    *,
    seed: int = 0,
) -> MatrixStats:
    """Per-eval metrics with 95 % intervals, human-human agreement, eval-eval agreement, the minimal
    eval set and weekly agreement, from the per-trace summary the page also reads (``store.verdict_patterns``)."""
    cols = list(cols)[: store.MAX_PATTERN_EVALS]

    def human_side() -> tuple[AgreementReport, int]:
        key = (access.db.path, id(access.db), access.workspace_id, eval_set_id, store.data_version(access, eval_set_id))
        with _SUMMARIES_LOCK:
            if key in _HUMAN:
                return _HUMAN[key]
        rows, rated = store.multi_rated(access, eval_set_id)
        found = agreement(rows), rated
        with _SUMMARIES_LOCK:
            _HUMAN[key] = found
            while len(_HUMAN) > SUMMARY_CACHE_SIZE:
                _HUMAN.popitem(last=False)
        return found

    # The humans' agreement (its own query and Python) overlaps the patterns query (DuckDB lets go of the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        human_future = pool.submit(human_side)
        vids = [c["version_id"] for c in cols]
        summary = trace_summary(access, eval_set_id, vids) if cols else None
        pat = Patterns.of(store.verdict_patterns(access, eval_set_id, vids, summary) if cols else None)
        human, human_rated = human_future.result()
    per_eval = [EvalStat(c, metrics.eval_metrics_from_counts(**pat.counts(i), seed=seed)) for i, c in enumerate(cols)]
    names = [c["label"] for c in cols]
    minimal = pat.minimal_set(names, max_false_failure) if names else None
    pairs = pat.pair_agreement(names)
    labels = {
        "pass": int(pat.weight[pat.is_pass].sum()),
        "fail": int(pat.weight[pat.is_fail].sum()),
        "none": int(pat.weight[~(pat.is_pass | pat.is_fail)].sum()),
    }
    return MatrixStats(per_eval, human, human_rated, pairs, minimal, max_false_failure, pat.weekly(names), labels)


@dataclass(frozen=True)
class Patterns:
    """Weighted verdict patterns: per group of traces its label, week, and bit masks of the versions that
    ran / passed / failed (bit i = column i); ``weight`` = how many traces share the row."""

    label: np.ndarray
    week: np.ndarray
    ran: np.ndarray
    passed: np.ndarray
    failed: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, columns: dict | None) -> Patterns:
        if not columns:
            empty = np.zeros(0, dtype=np.int64)
            return cls(np.zeros(0, dtype=object), np.zeros(0, dtype="datetime64[us]"), empty, empty, empty, empty)
        label = np.asarray(columns["label"], dtype=object)
        label = np.where(pd.isna(label), "", label)
        return cls(
            label,
            np.asarray(columns["week"]),
            np.asarray(columns["ran_mask"], dtype=np.int64),
            np.asarray(columns["pass_mask"], dtype=np.int64),
            np.asarray(columns["fail_mask"], dtype=np.int64),
            np.asarray(columns["traces"], dtype=np.int64),
        )

    @functools.cached_property
    def is_pass(self) -> np.ndarray:
        return self.label == "pass"

    @functools.cached_property
    def is_fail(self) -> np.ndarray:
        return self.label == "fail"

    def bit(self, masks: np.ndarray, i: int) -> np.ndarray:
        return ((masks >> i) & 1).astype(bool)

    def counts(self, i: int) -> dict[str, int]:
        """Column i's confusion counts, errors and unrated: the keyword arguments of eval_metrics_from_counts."""
        ran, passed, failed, w = self.bit(self.ran, i), self.bit(self.passed, i), self.bit(self.failed, i), self.weight
        is_pass, is_fail = self.is_pass, self.is_fail
        return {
            "caught": int(w[failed & is_fail].sum()),
            "false_failures": int(w[failed & is_pass].sum()),
            "missed": int(w[passed & is_fail].sum()),
            "agreed_passes": int(w[passed & is_pass].sum()),
            "errors": int(w[ran & ~passed & ~failed].sum()),
            "unrated": int(w[ran & ~is_pass & ~is_fail].sum()),
        }

    def _sorted(self, names: Sequence[str]) -> tuple[list[str], tuple[np.ndarray, ...]]:
        """Names in sorted order, and (label, pass_mask, fail_mask, weight) with bits renumbered to that
        order and the weeks summed away."""
        order = sorted(range(len(names)), key=lambda i: names[i])
        passed = np.zeros_like(self.passed)
        failed = np.zeros_like(self.failed)
        for new, old in enumerate(order):
            passed |= ((self.passed >> old) & 1) << new
            failed |= ((self.failed >> old) & 1) << new
        code = np.where(self.is_pass, 1, np.where(self.is_fail, 2, 0)).astype(np.int8)
        grouped = (
            pd.DataFrame({"c": code, "p": passed, "f": failed, "w": self.weight})
            .groupby(["c", "p", "f"], sort=False)["w"]
            .sum()
            .reset_index()
        )
        label = np.array(["", "pass", "fail"], dtype=object)[grouped["c"].to_numpy()]
        arrays = (
            label,
            grouped["p"].to_numpy(np.int64),
            grouped["f"].to_numpy(np.int64),
            grouped["w"].to_numpy(np.int64),
        )
        return [names[i] for i in order], arrays

    def minimal_set(self, names: Sequence[str], max_false_failure: float) -> MinimalEvalSet:
        sorted_names, arrays = self._sorted(names)
        return minimal_set_of_patterns(sorted_names, *arrays, max_false_failure)

    def pair_agreement(self, names: Sequence[str]) -> list[EvalPairAgreement]:
        sorted_names, arrays = self._sorted(names)
        return agreement_of_patterns(sorted_names, *arrays)

    def weekly(self, names: Sequence[str]) -> pd.DataFrame:
        """week, eval, agreed, contradicted, agreement: labelled traces with a verdict, by week."""
        dated = ~pd.isna(self.week)
        weeks, week_of = np.unique(self.week[dated], return_inverse=True)
        weight = self.weight[dated]
        is_pass, is_fail = self.is_pass[dated], self.is_fail[dated]
        frames = []
        for i, name in enumerate(names):
            passed, failed = self.bit(self.passed[dated], i), self.bit(self.failed[dated], i)
            agreed = np.bincount(
                week_of, weights=weight * ((passed & is_pass) | (failed & is_fail)), minlength=len(weeks)
            )
            contra = np.bincount(
                week_of, weights=weight * ((failed & is_pass) | (passed & is_fail)), minlength=len(weeks)
            )
            keep = (agreed + contra) > 0
            frames.append(
                pd.DataFrame(
                    {
                        "week": weeks[keep],
                        "eval": name,
                        "agreed": agreed[keep].astype(np.int64),
                        "contradicted": contra[keep].astype(np.int64),
                    }
                )
            )
        out = pd.concat(frames) if frames else pd.DataFrame(columns=["week", "eval", "agreed", "contradicted"])
        out = out.sort_values(["week", "eval"]).reset_index(drop=True)
        total = out["agreed"] + out["contradicted"]
        out["agreement"] = (out["agreed"] / total.where(total > 0)).astype(float)
        return out[["week", "eval", "agreed", "contradicted", "agreement"]]


def _covered(subsets: np.ndarray, masks: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per subset (a bit mask of evals): the traces (weighted) that at least one eval of it flags in ``masks``."""
    if masks.size == 0 or subsets.size == 0:
        return np.zeros(len(subsets), dtype=np.int64)
    out = np.empty(len(subsets), dtype=np.int64)
    for start in range(0, len(subsets), 1024):  # bounded memory: 1,024 subsets x patterns at a time
        chunk = subsets[start : start + 1024]
        out[start : start + 1024] = ((chunk[:, None] & masks[None, :]) != 0).astype(np.int64) @ weight
    return out


def minimal_set_of_patterns(
    names: Sequence[str],
    label: np.ndarray,
    pass_mask: np.ndarray,
    fail_mask: np.ndarray,
    weight: np.ndarray,
    max_false_failure: float = DEFAULT_MAX_FALSE_FAILURE,
) -> MinimalEvalSet:
    """``metrics.minimal_eval_set`` over weighted verdict patterns (label 'pass'/'fail'/'', bit masks, traces),
    bit i = ``names[i]`` (names sorted, as there): the same answer, without one Python object per trace."""
    if list(names) != sorted(names):
        raise ValueError("names must be sorted, as metrics.minimal_eval_set orders them")
    is_fail, is_pass = label == "fail", label == "pass"
    n_fail, n_pass = int(weight[is_fail].sum()), int(weight[is_pass].sum())
    fail_masks, fail_w = fail_mask[is_fail], weight[is_fail]
    pass_masks, pass_w = fail_mask[is_pass], weight[is_pass]

    def allowed(false_count: np.ndarray) -> np.ndarray:
        if n_pass == 0:
            return np.ones(len(false_count), dtype=bool)
        return false_count / n_pass <= max_false_failure + 1e-12

    k = len(names)
    exact = k <= metrics.EXACT_LIMIT
    chosen: tuple[int, ...] = ()
    if exact and k:
        subsets = np.arange(1, 1 << k, dtype=np.int64)
        caught = _covered(subsets, fail_masks, fail_w)
        false = _covered(subsets, pass_masks, pass_w)
        size = np.array([int(x).bit_count() for x in subsets])
        ok = np.flatnonzero(allowed(false))
        if ok.size:
            # the same order as metrics.minimal_eval_set: most caught, then fewest evals, then fewest false
            # failures, then the first members in name order
            best = min(ok, key=lambda i: (-caught[i], size[i], false[i]))
            key = (-caught[best], size[best], false[best])
            ties = [i for i in ok if (-caught[i], size[i], false[i]) == key]
            chosen = min(tuple(j for j in range(k) if int(subsets[i]) >> j & 1) for i in ties)
    elif k:
        picked: list[int] = []
        mask = 0
        while True:
            now_caught = int(_covered(np.array([mask]), fail_masks, fail_w)[0]) if mask else 0
            options = []
            for i in range(k):
                if i in picked:
                    continue
                trial = np.array([mask | 1 << i], dtype=np.int64)
                c, f = int(_covered(trial, fail_masks, fail_w)[0]), int(_covered(trial, pass_masks, pass_w)[0])
                if allowed(np.array([f]))[0] and c > now_caught:
                    options.append((-c, f, i))
            if not options:
                break
            _, _, i = min(options)
            picked.append(i)
            mask |= 1 << i
        chosen = tuple(sorted(picked))
    mask = np.array([sum(1 << i for i in chosen)], dtype=np.int64)
    caught_n = int(_covered(mask, fail_masks, fail_w)[0]) if chosen else 0
    false_n = int(_covered(mask, pass_masks, pass_w)[0]) if chosen else 0
    return MinimalEvalSet(
        [names[i] for i in chosen],
        caught_n / n_fail if n_fail else None,
        false_n / n_pass if n_pass else None,
        caught_n,
        n_fail,
        false_n,
        n_pass,
        exact,
    )


def agreement_of_patterns(
    names: Sequence[str], label: np.ndarray, pass_mask: np.ndarray, fail_mask: np.ndarray, weight: np.ndarray
) -> list[EvalPairAgreement]:
    """``metrics.eval_agreement_matrix`` over weighted verdict patterns: each pair once, in name order."""
    index = {n: i for i, n in enumerate(names)}
    out = []
    for a, b in itertools.combinations(sorted(names), 2):
        ia, ib = index[a], index[b]
        a_pass, a_fail = (pass_mask >> ia) & 1, (fail_mask >> ia) & 1
        b_pass, b_fail = (pass_mask >> ib) & 1, (fail_mask >> ib) & 1
        tp, fp = int(weight[(a_fail & b_fail) == 1].sum()), int(weight[(a_fail & b_pass) == 1].sum())
        fn, tn = int(weight[(a_pass & b_fail) == 1].sum()), int(weight[(a_pass & b_pass) == 1].sum())
        n = tp + fp + fn + tn
        kappa = float(metrics.f1_and_kappa(np.array(tp), np.array(fp), np.array(fn), np.array(tn))[1]) if n else np.nan
        out.append(EvalPairAgreement(a, b, n, (tp + tn) / n if n else None, None if np.isnan(kappa) else kappa))
    return out


def stats_table(stats: MatrixStats) -> pd.DataFrame:
    """One row per eval (and the humans' ceiling): each figure with its 95 % interval."""

    def fig(e: metrics.Estimate) -> tuple:
        return e.value, e.low, e.high

    rows = []
    for s in stats.evals:
        m = s.metrics
        row = {"eval": s.column["label"], "n": m.n, "contradictions": m.contradictions, "errors": m.errors}
        for name in ("accuracy", "precision", "recall", "f1", "kappa", "false_failure_rate"):
            row[name], row[name + "_low"], row[name + "_high"] = fig(getattr(m, name))
        row.update(caught=m.caught, false_failures=m.false_failures, missed=m.missed, agreed_passes=m.agreed_passes)
        row["unrated"] = m.unrated
        rows.append(row)
    shared = sum(p.n_shared for p in stats.human.pairs)
    rows.append(
        {"eval": "humans (ceiling)", "n": shared, "accuracy": stats.human_agreement, "kappa": stats.human_kappa}
    )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- export


def export_frame(access: Access, eval_set_id: str, cols: Sequence[dict]) -> pd.DataFrame:
    """The whole matrix, one row per trace: trace_id, human_rating, human_note, timestamp, source, then one
    column per eval version with pass / fail / error (empty: not run)."""
    table = store.matrix_frame(access, eval_set_id, [c["version_id"] for c in cols]).to_pandas()
    base = (
        table[["trace_id", "label", "note", "timestamp", "source"]]
        .drop_duplicates("trace_id")
        .rename(columns={"label": "human_rating", "note": "human_note"})
        .set_index("trace_id")
    )
    ran = table.dropna(subset=["version_id"])
    words = ran["verdict"].map({True: "pass", False: "fail"}).where(ran["verdict"].notna(), "error")
    wide = pd.DataFrame({"trace_id": ran["trace_id"], "version_id": ran["version_id"], "v": words}).pivot(
        index="trace_id", columns="version_id", values="v"
    )
    for c in cols:
        base[c["label"]] = wide[c["version_id"]] if c["version_id"] in wide.columns else None
    return base.reset_index()


def cli_frame(access: Access, eval_set_id: str, cols: Sequence[dict]) -> pd.DataFrame:
    """DESIGN.md's `forge matrix --csv`: trace_id, human_rating, then one column per eval version."""
    frame = export_frame(access, eval_set_id, cols)
    return frame[["trace_id", "human_rating", *[c["label"] for c in cols]]]


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- drill-down


_LINE_REFS = re.compile(r"\b(?:lines?|L)\s*(\d+(?:\s*(?:-|–|,|and)\s*\d+)*)", re.IGNORECASE)
_QUOTED = re.compile(r"'([^'\n]{2,})'|\"([^\"\n]{2,})\"|`([^`\n]{2,})`|(?<![\w/])/([^/\n]{2,})/(?![\w/])")


def decisive_lines(source: str, reason: str | None) -> list[int]:
    """The 1-based source lines the reason points at (see the module docstring for the convention)."""
    if not reason or not source:
        return []
    lines = source.splitlines()
    found: set[int] = set()
    for match in _LINE_REFS.finditer(reason):
        for part in re.split(r"\s*,\s*|\s+and\s+", match.group(1)):
            bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part) if x.strip().isdigit()]
            if len(bounds) == 2 and bounds[0] <= bounds[1] <= bounds[0] + 200:
                found.update(range(bounds[0], bounds[1] + 1))
            elif bounds:
                found.add(bounds[0])
    for match in _QUOTED.finditer(reason):
        text = next(g for g in match.groups() if g)
        found.update(i for i, line in enumerate(lines, 1) if text in line)
    return sorted(i for i in found if 1 <= i <= len(lines))


def marked_source(source: str, lines: Sequence[int]) -> str:
    """The code with the decisive lines marked at their end (st.code cannot colour single lines)."""
    marked = set(lines)
    return "\n".join(
        f"{text}  # ◀ decided this verdict" if i in marked else text for i, text in enumerate(source.splitlines(), 1)
    )


def rerate(access: Access, eval_set_id: str, trace_id: str, value: str, note: str | None = None) -> None:
    """The acting user's rating of the trace in the set (replaces their earlier one); needs ``rate``."""
    review_ratings.upsert_ratings(access, eval_set_id, [{"trace_id": trace_id, "value": value, "note": note}])


def mark_label_wrong(access: Access, eval_set_id: str, trace_id: str, label: str, note: str | None = None) -> str:
    """Settle the trace's human label as the opposite of ``label`` (kind 'label-wrong'); needs ``edit``.
    Returns the new label."""
    if label not in ("pass", "fail"):
        raise ValueError("only a pass or fail label can be marked wrong")
    flipped = "fail" if label == "pass" else "pass"
    rating_store.resolve(access, eval_set_id, trace_id, flipped, note or f"label was {label}", "label-wrong")
    return flipped


def refine_target(eval_set_id: str, eval_id: str) -> tuple[str, dict[str, str]]:
    """The generation page and its query parameters that open refinement of one eval from its contradictions."""
    return "pages/generate.py", {"eval_set": eval_set_id, "eval": eval_id, "refine": "1"}


# ---------------------------------------------------------------- Langfuse round trip


def score_id(workspace_id: str, langfuse_trace_id: str, name: str) -> str:
    """A deterministic score id: pushing again updates the same score instead of adding one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"forge:{workspace_id}:{langfuse_trace_id}:{name}"))


def langfuse_scores(
    access: Access, eval_set_id: str, eval_set_name: str, cols: Sequence[dict]
) -> tuple[list[dict], int]:
    """The BOOLEAN scores to push for the set's Langfuse traces (human label + every verdict), and how many
    values were skipped (traces not from Langfuse, unrated traces, error verdicts)."""
    table = store.matrix_frame(access, eval_set_id, [c["version_id"] for c in cols]).to_pylist()
    label_of = {c["version_id"]: c["label"] for c in cols}
    scores: list[dict] = []
    skipped = 0
    seen: set[str] = set()
    for r in table:
        from_langfuse = r["source"] == "langfuse"
        if r["trace_id"] not in seen:
            seen.add(r["trace_id"])
            if from_langfuse and r["label"] in ("pass", "fail"):
                name = f"human:{eval_set_name}"
                scores.append(
                    {
                        "id": score_id(access.workspace_id, r["source_id"], name),
                        "traceId": r["source_id"],
                        "name": name,
                        "value": 1 if r["label"] == "pass" else 0,
                        "dataType": "BOOLEAN",
                        "comment": r["note"],
                    }
                )
            else:
                skipped += 1
        if r["version_id"] is None:
            continue
        if not from_langfuse or r["verdict"] is None:
            skipped += 1
            continue
        name = label_of[r["version_id"]]
        scores.append(
            {
                "id": score_id(access.workspace_id, r["source_id"], name),
                "traceId": r["source_id"],
                "name": name,
                "value": 1 if r["verdict"] else 0,
                "dataType": "BOOLEAN",
                "comment": r["reason"],
            }
        )
    return scores, skipped


def push_to_langfuse(access: Access, eval_set_id: str, eval_set_name: str, cols: Sequence[dict], progress=None):
    """Push the set's human labels and verdicts to Langfuse as scores; a ``PushSummary`` (pushed/skipped/failed)."""
    from forge.traces import langfuse_push

    access.need("rate")  # it writes the workspace's labels into Langfuse
    scores, skipped = langfuse_scores(access, eval_set_id, eval_set_name, cols)
    return langfuse_push.push_scores(scores, skipped=skipped, progress=progress)


def cell_counts(frame: pd.DataFrame, cols: Sequence[dict]) -> dict[str, int]:
    """agree / contradiction / error / unrated cells of an ``export_frame`` (not-run cells are not counted)."""
    human = frame["human_rating"]
    rated = human.isin(["pass", "fail"])
    out = dict.fromkeys(("agree", "contradiction", "error", "unrated"), 0)
    for c in cols:
        verdict = frame[c["label"]]
        judged = verdict.isin(["pass", "fail"])
        out["agree"] += int((judged & rated & (verdict == human)).sum())
        out["contradiction"] += int((judged & rated & (verdict != human)).sum())
        out["unrated"] += int((judged & ~rated).sum())
        out["error"] += int((verdict == "error").sum())
    return out
