"""CI gates on an eval run: `--min-pass-rate PCT` and `--max-contradictions N` turn results into an exit code.

Two questions a team asks in CI: do our app's outputs still pass the evals (pass rate over fresh,
unlabelled outputs), and do the evals still agree with the humans (contradictions with rated traces).
An error or timeout counts as not passing: an eval that cannot decide must not let a build through.
"""

from __future__ import annotations

from dataclasses import dataclass

GATE_NOT_MET = 3  # exit code: the evals ran, a gate was not met (1 = the run itself failed, 2 = bad input)


class GateError(ValueError):
    """A gate given with a value outside its range (bad input, exit code 2)."""


@dataclass(frozen=True)
class Gate:
    """The thresholds a run must meet; None means no gate."""

    min_pass_rate: float | None = None  # percent of traces each eval must pass, 0-100
    max_contradictions: int | None = None  # contradictions with human labels each eval may have

    def __post_init__(self) -> None:
        if self.min_pass_rate is not None and not 0 <= self.min_pass_rate <= 100:
            raise GateError(f"--min-pass-rate must be a percentage from 0 to 100, not {self.min_pass_rate:g}")
        if self.max_contradictions is not None and self.max_contradictions < 0:
            raise GateError(f"--max-contradictions must be 0 or more, not {self.max_contradictions}")

    @property
    def active(self) -> bool:
        return self.min_pass_rate is not None or self.max_contradictions is not None

    def misses(self, name: str, *, passed: int, total: int, contradictions: int, rated: int) -> list[str]:
        """One sentence per gate this eval does not meet (empty when it meets them all)."""
        out = []
        if self.min_pass_rate is not None:
            rate = 100.0 * passed / total if total else 0.0
            if total == 0 or rate < self.min_pass_rate:
                out.append(
                    f"{name} passed {passed:,} of {total:,} traces ({rate:.1f} %), under --min-pass-rate"
                    f" {self.min_pass_rate:g} %"
                )
        if self.max_contradictions is not None:
            if rated == 0:
                out.append(f"{name}: no rated trace to count contradictions on (--max-contradictions needs ratings)")
            elif contradictions > self.max_contradictions:
                out.append(
                    f"{name} contradicts the human label on {contradictions:,} of {rated:,} rated traces,"
                    f" over --max-contradictions {self.max_contradictions}"
                )
        return out
