"""Evals: a set's evals with their code, an editor that tries an eval before saving it, runs and their summaries."""

from forge.ui import evals_view as view
from forge.ui.state import guard

access = guard("read")
view.header()
eval_set = view.pick_eval_set(access)
evals = view.eval_list(access, eval_set)
view.editor(access, eval_set, evals)
view.run_panel(access, eval_set, evals)
view.recent_runs(access, eval_set)
