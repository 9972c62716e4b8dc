"""Synthesis benchmark: `forge eval synth` on HaluEval with a fixed, seeded, stratified 70/30 split.

Prints held-out accuracy, F1 of the fail class and Cohen's kappa of the synthesised eval against the
human labels, beside three baselines on the same split (majority class; the best single text-feature
threshold chosen on the training part; the best AND of two such thresholds: pass when both pass), and
the time to synthesise. Targets: kappa >= 0.30 and >= 0.10 above the best baseline; <= 30 s.

    .venv/bin/python -m bench.synth
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = 0
TEST_SHARE = 0.3
TARGET_KAPPA, TARGET_MARGIN, TARGET_SECONDS = 0.30, 0.10, 30.0


def _data_file() -> Path:
    candidates = [Path(os.environ["FORGE_SHARED_DATA"])] if os.environ.get("FORGE_SHARED_DATA") else []
    candidates += [ROOT.parent / "shared" / "data"]
    for directory in candidates:
        if (directory / "halueval_general.jsonl").exists():
            return directory / "halueval_general.jsonl"
    raise FileNotFoundError("halueval_general.jsonl not found (set FORGE_SHARED_DATA)")


def _runner():
    """Every candidate and the final eval run in the sandbox, as in the product."""
    from forge.evals.synthfile import sandbox_runner

    return sandbox_runner, "sandbox"


def split(labels: list[bool], seed: int = SEED, test_share: float = TEST_SHARE) -> tuple[list[int], list[int]]:
    """Stratified seeded split: (train indices, test indices)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in (False, True):
        idx = np.flatnonzero(np.asarray(labels) == cls)
        rng.shuffle(idx)
        cut = int(round(test_share * idx.size))
        test += idx[:cut].tolist()
        train += idx[cut:].tolist()
    return sorted(train), sorted(test)


def _row(name: str, metrics) -> str:
    def show(e) -> str:
        return "  n/a " if e.value is None else f"{e.value:6.3f}"

    return f"  {name:<50} accuracy {show(metrics.accuracy)}  F1(fail) {show(metrics.f1)}  kappa {show(metrics.kappa)}"


def main() -> None:
    from forge.evals import features as F
    from forge.evals.metrics import eval_metrics, majority_baseline
    from forge.evals.synth import FeatureTable, ThresholdRule, _best_condition, _pair
    from forge.evals.synthfile import read_labelled, synthesise

    path = _data_file()
    traces, labels, _ = read_labelled(path)
    train, test = split(labels)
    tr_traces, tr_labels = [traces[i] for i in train], [labels[i] for i in train]
    te_traces, te_labels = [traces[i] for i in test], [labels[i] for i in test]
    runner, runner_name = _runner()
    print(f"HaluEval general: {len(traces)} rated traces; train {len(train)}, test {len(test)} (seed {SEED})")
    print(f"runner: {runner_name}")

    start = time.perf_counter()
    source, result = synthesise(tr_traces, tr_labels, runner=runner, seed=SEED)
    seconds = time.perf_counter() - start
    print(f"time to synthesise on {len(train)} training traces: {seconds:.1f} s (target <= {TARGET_SECONDS:.0f} s)")
    print(f"chosen: {', '.join(result.chosen)}  ({len(source or '') // 1024} KB of source)")
    for c in result.candidates[:8]:
        kappa = c.metrics.kappa.value
        print(f"    {c.name:<40} cv kappa {'n/a' if kappa is None else f'{kappa:.3f}'}  {c.reason}")

    verdicts = runner({"synth": source}, te_traces)["synth"] if source else [True] * len(te_traces)
    synth_metrics = eval_metrics(verdicts, te_labels, seed=SEED)

    # baselines on the same split, thresholds chosen on the training part: over generic text features
    # (length and structure), and over every text feature synthesis itself may use
    table = FeatureTable()
    generic = {
        F.word_count,
        F.line_count,
        F.bullet_count,
        F.header_count,
        F.code_block_count,
        F.table_row_count,
        F.number_count,
        F.question_mark_count,
        F.link_count,
    }
    text_features = [f for f in F.BASE_FEATURES if f.function not in (F.latency_ms, F.cost_usd, F.step_count_at_level)]
    fail = ~np.asarray(tr_labels)

    def threshold_baselines(features) -> tuple[ThresholdRule, ThresholdRule]:
        singles = []
        for feature in features:
            values = table.column(feature, tr_traces)
            found = _best_condition(feature, values, fail)
            if found:
                singles.append((found[1], feature, values, found[0]))
        singles.sort(key=lambda s: -s[0])
        pair_rule, _ = _pair([(f, v) for _, f, v, _ in singles[:10]], fail, modes=("any",))
        return ThresholdRule((singles[0][3],)), pair_rule

    def held_out(rule) -> object:
        return eval_metrics((~rule.fails(table, te_traces)).tolist(), te_labels, seed=SEED)

    baselines = {"majority class": majority_baseline(te_labels, seed=SEED)}
    pairs = []
    for label, features in (("generic", [f for f in text_features if f.function in generic]), ("all", text_features)):
        single_rule, pair_rule = threshold_baselines(features)
        baselines[f"best single threshold ({label} features)"] = held_out(single_rule)
        baselines[f"best AND of two thresholds ({label} features)"] = held_out(pair_rule)
        pairs.append(f"{label}: {pair_rule.describe()}")
    print("pair baselines: " + "; ".join(pairs))
    print("held-out (30 % test part):")
    print(_row("synthesised eval", synth_metrics))
    for name, metrics in baselines.items():
        print(_row(name, metrics))
    kappa = synth_metrics.kappa.value or 0.0
    print(
        f"kappa {kappa:.3f} (target >= {TARGET_KAPPA:.2f}: {'MET' if kappa >= TARGET_KAPPA else 'MISSED'}); "
        f"time ratio {seconds / TARGET_SECONDS:.2f} of target"
    )
    for label in ("generic", "all"):
        best = max((m.kappa.value or 0.0) for name, m in baselines.items() if label in name or "majority" in name)
        verdict = "MET" if kappa - best >= TARGET_MARGIN else "MISSED"
        print(
            f"  margin over the best baseline on {label} text features ({best:.3f}): {kappa - best:+.3f} "
            f"(target >= {TARGET_MARGIN:.2f}: {verdict})"
        )


if __name__ == "__main__":
    main()
