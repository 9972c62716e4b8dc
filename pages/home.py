"""Home: what the workspace holds and the next thing to do."""

import streamlit as st

from forge import auth, demo
from forge.store.summary import eval_set_counts, workspace_summary
from forge.ui import home_view, keys, navigation, state
from forge.ui.format import fmt_count
from forge.ui.widgets import page_help

access = state.guard("read")
db, user, ws = access.db, access.user, access.workspace

st.title(f"Workspace · {ws.name}")
if ws.description:
    st.caption(ws.description)
page_help(
    "What this workspace holds (traces, eval sets, evals, runs), the pass/fail counts of each eval set,"
    " and the next thing to do, with a link to the page that does it. **Load demo data** fills an empty"
    " workspace so every screen has something to show. Switch workspace in the sidebar."
)
notice = st.session_state.pop(keys.HOME_NOTICE, None)
if notice:
    st.success(notice)

summary = workspace_summary(access)
figures = [
    ("Traces", summary.traces),
    ("Eval sets", summary.eval_sets),
    ("Evals", summary.evals),
    ("Runs", summary.runs),
]
for col, (label, value) in zip(st.columns(len(figures)), figures, strict=True):
    col.metric(label, fmt_count(value))

# Ratings answer one criterion each: counted per eval set, never added up across sets.
eval_sets = eval_set_counts(access)
if eval_sets:
    st.dataframe(home_view.eval_set_table(eval_sets), hide_index=True, column_config=home_view.EVAL_SET_COLUMNS)
elif summary.traces:
    st.caption("No eval sets yet: an eval set is a criterion that traces are rated against.")

step = summary.next_step
page = navigation.page_for_step(user, step.page) if step else None
if page:  # a step whose page does not exist yet (or is not for this role) is not promised
    with st.container(border=True):
        st.subheader(f"Next: {step.title}")
        st.write(step.detail)
        st.page_link(page.path, label=f"Go to {page.title}", icon=":material/arrow_forward:")
elif summary.traces == 0 and not access.may("import"):
    st.info(f"This workspace has no traces yet, and your role ({user.role}) cannot import: ask an analyst or admin.")
elif summary.traces:
    st.page_link("pages/traces.py", label="Open the trace browser", icon=":material/timeline:")

st.divider()
st.subheader("Demo data")
st.write(
    f"{demo.DEMO_FILE.name}: traces of an outdoor-gear shop's support assistant, about half "
    f"rated for the eval set **{demo.DEMO_EVAL_SET}** — {demo.DEMO_CRITERION}"
)
may_import = access.may("import")
clicked = st.button(
    "Load demo data",
    key="home_load_demo",
    type="primary" if summary.traces == 0 else "secondary",
    disabled=not may_import,
    help=None if may_import else f"Your role ({user.role}) cannot import data.",
)
if clicked and may_import:
    bar = st.progress(0.0, text="Importing demo traces…")

    def progress(done: int, total: int | None, message: str = "") -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=message or f"{done} traces")

    try:
        result = demo.load_demo(db, user, ws.id, progress=progress)
    except auth.PermissionDenied as exc:
        st.error(str(exc))
    except NotImplementedError:
        st.error("The file importer is not available in this build yet.")
    else:
        errors = result.get("errors") or []
        st.session_state[keys.HOME_NOTICE] = (
            f"Demo data loaded: {fmt_count(result.get('imported', 0))} new,"
            f" {fmt_count(result.get('updated', 0))} updated{f', {fmt_count(len(errors))} errors' if errors else ''}."
        )
        st.rerun()
