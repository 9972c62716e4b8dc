"""The review page's widgets: queue controls, one trace large and readable, the rating bar with keyboard
shortcuts, progress and the rater's history. Logic lives in ``forge.review.session``."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import streamlit as st

from forge import auth
from forge.review import session as review
from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from forge.store import traces as trace_store
from forge.store.access import Access
from forge.traces import query
from forge.ui import trace_view
from forge.ui.format import BLANK, fmt_count, fmt_ms
from forge.ui.trace_filters import sidebar_filters
from forge.ui.widgets import md

SESSION = "review_session"
MESSAGE = "review_message"
FOCUS_NOTE = "review_focus_note"
FOLD_CHARS = 1500  # longer text is folded: the first part shown, the rest in an expander
ICONS = {"pass": "👍", "fail": "👎", "neutral": "😐"}
SHORTCUTS = [
    ("1", "Pass"),
    ("2", "Fail"),
    ("3", "Neutral"),
    ("s", "Skip (leave unrated for this session)"),
    ("n", "Note: jump into the note box (Tab leaves it; the note is saved with the rating)"),
    ("u", "Undo the last rating"),
    ("k or ←", "Back to the previous trace (its rating can be changed)"),
    ("j or →", "Forward: the next trace"),
]
ARROW_TWINS = ("review_back_arrow", "review_forward_arrow")
_OFFSCREEN = "position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden;"
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")


def help_panel() -> None:
    """The `?` panel: what the page is for and its keyboard shortcuts."""
    with st.popover("? Help & shortcuts", width="content"):
        st.markdown(
            "Rate traces one at a time against the eval set's criterion. Each rating is saved the moment you "
            "give it and the next trace appears. Shortcuts work whenever the cursor is not in a text box:"
        )
        st.table(pd.DataFrame(SHORTCUTS, columns=["Key", "Does"]).set_index("Key"))
        st.caption(
            "Queue orders: unrated newest / oldest / random first; 'Most informative first' serves traces where "
            "the set's evals disagree, or (before any eval ran) alternates between the most different traces. "
            "The sidebar's filters narrow the queue."
        )


def queue_filters(access: Access) -> query.TraceFilters:
    """The traces page's filters (text, time, source, tags, model) in the sidebar; they narrow the queue."""
    return sidebar_filters(
        query.facet_values(access),
        prefix="review",
        title="Queue filters",
        fields=("text", "days", "sources", "tags", "models"),  # the queue's order: source first
    )


def current_session(access: Access, eval_set: dict, order: str, filters: query.TraceFilters) -> review.ReviewSession:
    """This browser session's review session; a new one when the set, the order or the filters changed."""
    s = st.session_state.get(SESSION)
    if not (
        isinstance(s, review.ReviewSession) and (s.eval_set_id, s.order, s.filters) == (eval_set["id"], order, filters)
    ):
        s = review.start(access, eval_set["id"], order, filters)
        st.session_state[SESSION] = s
    return s


def _act(fn, *args) -> None:
    """Run a session action from a button callback; a refusal is shown, never raised."""
    try:
        fn(*args)
    except (ValueError, auth.AuthError) as exc:
        st.session_state[MESSAGE] = str(exc)


def _note_key(trace_id: str) -> str:
    return f"review_note_{trace_id}"


def _rate(access: Access, s: review.ReviewSession, value: str) -> None:
    trace_id = s.current
    note = st.session_state.get(_note_key(trace_id)) if trace_id else None
    _act(review.rate, access, s, value, note)


def _save_note(access: Access, s: review.ReviewSession, trace_id: str) -> None:
    _act(review.save_note, access, s, trace_id, st.session_state.get(_note_key(trace_id)))


def _jump(s: review.ReviewSession) -> None:
    picked = st.session_state.get("review_history_pick")
    if picked:
        review.jump(s, picked)
    st.session_state["review_history_pick"] = None


def progress_panel(p: review.Progress) -> None:
    """Ratings vs the target per class, balance warning, this session's pace and what is left."""
    cols = st.columns(5)
    cols[0].metric("👍 Pass", f"{p.passes} / {p.target_per_class}")
    cols[1].metric("👎 Fail", f"{p.fails} / {p.target_per_class}")
    cols[2].metric("This session", fmt_count(p.session_count))
    cols[3].metric("Per item", f"{p.seconds_per_item:.1f} s" if p.seconds_per_item is not None else BLANK)
    cols[4].metric("Left in this queue", fmt_count(p.left))
    done = min(p.passes, p.target_per_class) + min(p.fails, p.target_per_class)
    st.progress(done / (2 * p.target_per_class), text=f"{done} of {2 * p.target_per_class} toward the target")
    if p.warning:
        st.warning(p.warning)
    extra = [f"{p.neutrals} neutral" if p.neutrals else "", f"{p.ties} tied" if p.ties else ""]
    if any(extra):
        st.caption("Also: " + ", ".join(x for x in extra if x) + " (left out of every metric).")


def rating_bar(access: Access, s: review.ReviewSession, may_rate: bool) -> None:
    """Pass / Fail / Neutral / Skip / Note / Undo and Back / Forward, each with its shortcut."""
    off = not may_rate or s.current is None
    row = st.columns(6)
    for col, (value, label, key) in zip(
        row, (("pass", "👍 Pass", "1"), ("fail", "👎 Fail", "2"), ("neutral", "😐 Neutral", "3")), strict=False
    ):
        col.button(
            label,
            key=f"review_{value}",
            shortcut=key,
            disabled=off,
            width="stretch",
            type="primary" if value != "neutral" else "secondary",
            on_click=_rate,
            args=(access, s, value),
        )
    row[3].button(
        "Skip",
        key="review_skip",
        shortcut="s",
        disabled=s.current is None,
        width="stretch",
        on_click=_act,
        args=(review.skip, access, s),
    )
    row[4].button(
        "Note",
        key="review_note_focus",
        shortcut="n",
        disabled=off,
        width="stretch",
        on_click=lambda: st.session_state.__setitem__(FOCUS_NOTE, True),
    )
    row[5].button(
        "Undo",
        key="review_undo",
        shortcut="u",
        disabled=not (may_rate and s.undo_stack),
        width="stretch",
        on_click=_act,
        args=(review.undo, access, s),
    )
    nav = st.columns([1, 1, 4])
    ahead = s.current is not None or not s.exhausted
    back = {"disabled": s.position <= 0, "width": "stretch", "on_click": review.back, "args": (s,)}
    forward = {"disabled": not ahead, "width": "stretch", "on_click": _act, "args": (review.forward, access, s)}
    nav[0].button("← Back", key="review_back", shortcut="k", **back)
    nav[1].button("Forward →", key="review_forward", shortcut="j", **forward)
    # The arrow keys are shortcuts too; a button takes one shortcut, so each has an invisible twin.
    st.html(f"<style>{', '.join(f'.st-key-{k}' for k in ARROW_TWINS)} {{{_OFFSCREEN}}}</style>")
    st.button("Back", key=ARROW_TWINS[0], shortcut="Left", **back)
    st.button("Forward", key=ARROW_TWINS[1], shortcut="Right", **forward)


def note_box(access: Access, s: review.ReviewSession, trace_id: str, mine: dict | None, may_rate: bool) -> None:
    """The note: saved with the rating, or at once when the trace is already rated."""
    key = _note_key(trace_id)
    if key not in st.session_state:
        st.session_state[key] = (mine or {}).get("note") or ""
    with st.container(key="review_note_box"):
        st.text_area(
            "Note (optional: why this rating)",
            key=key,
            height=80,
            disabled=not may_rate,
            on_change=_save_note,
            args=(access, s, trace_id),
        )
    if st.session_state.pop(FOCUS_NOTE, False):
        # A block, not top-level consts: they would clash with the previous run of this script (or the
        # Playground's scroll script) in the page's global scope, and `n` would focus nothing the second time.
        st.html(
            "<script>{ const d = (window.parent || window).document;"
            " const el = d.querySelector('.st-key-review_note_box textarea'); if (el) { el.focus(); } }</script>",
            unsafe_allow_javascript=True,
        )


def _readable_text(text: str) -> None:
    """Markdown-rendered text (images shown as their alt text: no remote loads), long text folded."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            st.code(json.dumps(json.loads(stripped), indent=2, ensure_ascii=False), language="json")
            return
        except ValueError:
            pass
    safe = _IMAGE.sub(lambda m: f"[image: {m.group(1)}]", text)
    st.markdown(safe[:FOLD_CHARS])
    if len(safe) > FOLD_CHARS:
        with st.expander(f"Show the rest ({fmt_count(len(safe) - FOLD_CHARS)} more characters)"):
            st.markdown(safe[FOLD_CHARS:])


def readable(value: Any) -> None:
    """A trace's input or output: chat messages as turns, JSON pretty-printed, text as markdown."""
    if value is None or value in ("", {}, []):
        st.caption("(empty)")
    elif isinstance(value, list) and value and all(isinstance(m, dict) and "content" in m for m in value):
        for m in value:
            st.markdown(f"**{md(m.get('role') or 'message')}**")
            content = m.get("content")
            readable(content) if not isinstance(content, str) else _readable_text(content)
    elif isinstance(value, (dict, list)):
        st.code(json.dumps(value, indent=2, ensure_ascii=False, default=str), language="json")
    else:
        _readable_text(str(value))


def _others(access: Access, eval_set: dict, trace_id: str, mine: dict | None) -> None:
    st.markdown("**Other raters**")
    if eval_set.get("blind") and mine is None:
        st.caption("Blind review: other raters' ratings and notes stay hidden until you have rated this trace.")
        return
    others = [
        r
        for r in rating_store.set_ratings_for_trace(access, eval_set["id"], trace_id)
        if r["rater"] != access.user.username
    ]
    if not others:
        st.caption("No other rater has rated this trace in this set.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Rater": r["rater"],
                    "Rating": f"{ICONS[r['value']]} {r['value']}",
                    "Note": r["note"] or "",
                    "Criterion": f"v{r['criterion_version']}",
                }
                for r in others
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def trace_card(access: Access, eval_set: dict, trace_id: str, mine: dict | None) -> None:
    """One trace, large: input and output, the steps collapsed, metadata, other ratings, eval verdicts."""
    trace = trace_store.get_trace(access, trace_id)
    if trace is None:
        st.warning("This trace is no longer in this workspace.")
        return
    st.subheader(md(trace.get("name")) or "(unnamed trace)")
    st.caption(
        " · ".join(
            md(x)
            for x in (
                trace.get("timestamp"),
                trace.get("source"),
                fmt_ms(trace.get("latency_ms")) if trace.get("latency_ms") is not None else None,
                f"id {trace_id}",
            )
            if x
        )
    )
    if mine:
        outdated = (mine["criterion_version"] or 1) < eval_set["criterion_version"]
        st.info(
            f"Your rating: {ICONS[mine['value']]} **{mine['value']}**"
            + (" — rated under an earlier criterion" if outdated else "")
            + (" (re-queued for re-check)" if mine.get("recheck") else "")
            + ". Rate again to change it."
        )
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown("#### Input")
        readable(trace.get("input") if trace.get("input") is not None else trace.get("input_text"))
    with right, st.container(border=True):
        st.markdown("#### Output")
        readable(trace.get("output") if trace.get("output") is not None else trace.get("output_text"))
    n_steps = len(trace.get("steps") or [])
    with st.expander(f"Steps ({n_steps})", expanded=False):
        trace_view.render_steps(query.step_tree(trace.get("steps") or []), key="review_steps")
    with st.expander("Metadata", expanded=False):
        trace_view.show_value(trace.get("metadata"))
    _others(access, eval_set, trace_id, mine)
    verdicts = eval_store.verdicts_for_trace(access, trace_id)
    trace_view.render_verdicts(verdicts)


def history(access: Access, s: review.ReviewSession, eval_set: dict) -> None:
    """This rater's ratings in the set, newest first; pick one to go back to it."""
    rows = rating_store.rater_history(access, eval_set["id"], limit=200)
    st.markdown(f"**Your ratings in this set** ({fmt_count(len(rows))}{'+' if len(rows) == 200 else ''})")
    if not rows:
        st.caption("None yet.")
        return
    labels = {
        r["trace_id"]: f"{ICONS[r['value']]} {r['name'] or '(unnamed)'} · {(r['output_preview'] or '')[:50]}"
        + (" · rated under an earlier criterion" if r["outdated"] else "")
        for r in rows
    }
    st.selectbox(
        "Go back to one of your ratings",
        list(labels),
        index=None,
        key="review_history_pick",
        format_func=labels.get,
        placeholder="Pick a rated trace…",
        on_change=_jump,
        args=(s,),
    )
    outdated = sum(r["outdated"] for r in rows)
    if outdated:
        st.caption(f"{outdated} of these were rated under an earlier criterion.")


def message() -> None:
    """Show (once) what an action refused."""
    text = st.session_state.pop(MESSAGE, None)
    if text:
        st.error(text)
