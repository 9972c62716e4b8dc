"""Langfuse trace/observation JSON (API or UI export) -> the unified trace.

Shared by the file importer (Langfuse JSON files) and the API importer.
Handles the current field set (usageDetails, costDetails) and the older one
(usage.input, promptTokens, calculatedTotalCost); JSON-string input/output/metadata.
"""

from __future__ import annotations

from typing import Any

from forge.store.types import Trace
from forge.store.values import is_number
from forge.traces.model import maybe_json, normalize_step, normalize_trace, trace_from_steps


def _num(v):
    return v if is_number(v) else None


def _first_num(*values):
    """The first value that is a number (not a bool), else None."""
    return next((v for v in values if is_number(v)), None)


def observation_to_step(o: dict) -> dict:
    """One Langfuse observation as a unified step (raw values; normalize_trace checks them)."""
    get = o.get
    usage = get("usageDetails")
    if not isinstance(usage, dict):
        usage = {}
    old_usage = get("usage")
    if not isinstance(old_usage, dict):
        old_usage = {}
    cost = get("costDetails")
    if not isinstance(cost, dict):
        cost = {}
    cost_usd = _first_num(get("totalCost"), cost.get("total"), get("calculatedTotalCost"))
    if cost_usd is None and cost:
        cost_usd = _parts(cost)
    return {
        "id": get("id"),
        "parent_id": get("parentObservationId"),
        "type": get("type") or "SPAN",
        "name": get("name"),
        "input": maybe_json(get("input")),
        "output": maybe_json(get("output")),
        "model": get("model") or get("providedModelName"),
        "start_time": get("startTime"),
        "end_time": get("endTime"),
        "level": get("level"),
        "status_message": get("statusMessage"),
        "input_tokens": _first_num(usage.get("input"), get("inputUsage"), old_usage.get("input"), get("promptTokens")),
        "output_tokens": _first_num(
            usage.get("output"), get("outputUsage"), old_usage.get("output"), get("completionTokens")
        ),
        "cost_usd": cost_usd,
    }


def _parts(cost: dict):
    """The sum of a costDetails without a ``total`` ({"input": 0.1, "output": 0.2}); None if empty."""
    nums = [v for v in cost.values() if _num(v) is not None]
    return sum(nums) if nums else None


def prepare_observation(o: dict) -> tuple:
    """``(o, raw step, normalised step or None)``: the per-observation work of
    ``langfuse_to_unified``, done before the whole trace is known (an importer does it
    while the next page downloads). The normalised step is None when it would depend on
    the step's position (no id of its own) or a field is bad: it is redone in place then,
    so errors name the same step as without preparation."""
    raw = observation_to_step(o)
    v = raw["id"]
    if v is None or isinstance(v, bool) or not isinstance(v, (str, int, float)) or v == "":
        return o, raw, None
    try:
        return o, raw, normalize_step(raw, 0)
    except Exception:  # redone (and raised) in langfuse_to_unified, in step order
        return o, raw, None


def _obs_order(o: dict):
    return (o.get("startTime") or "", o.get("id") or "")


def langfuse_to_unified(
    trace: dict | None, observations: list[dict] | None = None, prepared: dict[int, tuple] | None = None
) -> Trace:
    """A Langfuse trace (v1 Trace/TraceWithFullDetails, or None) and its observations -> unified trace.

    With ``trace`` None (v2 observations only) the trace is rebuilt from the
    observations: the root observation gives name, input and output.
    ``prepared``: ``{id(o): prepare_observation(o)}`` for observations already worked on
    (same result, less work now).
    """
    obs = observations
    if obs is None and trace is not None and isinstance(trace.get("observations"), list):
        obs = [o for o in trace["observations"] if isinstance(o, dict)]
    obs = sorted(obs or [], key=_obs_order)
    pre = None
    if prepared:
        pre = [prepared.get(id(o)) for o in obs]
        pre = [p if p is not None and p[0] is o else prepare_observation(o) for p, o in zip(pre, obs, strict=True)]
        steps = [p[1] for p in pre]
    else:
        steps = [observation_to_step(o) for o in obs]
    ids = {o.get("id") for o in obs}
    roots = [
        i
        for i, o in enumerate(obs)
        if o.get("isRootObservation") or not o.get("parentObservationId") or o.get("parentObservationId") not in ids
    ]
    root = obs[roots[0]] if roots else None
    t = trace or {}
    trace_id = t.get("id") or (obs[0].get("traceId") if obs else None)
    latency = _num(t.get("latency"))
    cost = _num(t.get("totalCost"))
    step_costs = [s["cost_usd"] for s in steps if s["cost_usd"] is not None]
    metadata = maybe_json(t.get("metadata"))
    if not isinstance(metadata, dict):
        metadata = {} if metadata in (None, "") else {"value": metadata}
    for key in ("environment", "release", "version", "projectId"):
        if t.get(key) is not None:
            metadata.setdefault(f"langfuse.{key}", t[key])
    raw: dict[str, Any] = {
        "id": trace_id,
        "source": "langfuse",
        "source_id": trace_id,
        "name": t.get("name") or (root or {}).get("traceName") or (root or {}).get("name"),
        "timestamp": t.get("timestamp") or (root or {}).get("startTime"),
        "input": maybe_json(t.get("input")) if t.get("input") is not None else None,
        "output": maybe_json(t.get("output")) if t.get("output") is not None else None,
        "steps": steps,
        "metadata": metadata,
        "tags": t.get("tags") if t.get("tags") is not None else (root or {}).get("tags"),
        "user_id": t.get("userId") or (root or {}).get("userId"),
        "session_id": t.get("sessionId") or (root or {}).get("sessionId"),
        # v1 trace latency is in seconds; cost may be 0 on old servers even when steps cost money.
        "latency_ms": latency * 1000 if latency is not None else None,
        "cost_usd": cost if cost else (sum(step_costs) if step_costs else cost),
    }
    if trace is None and root is not None:
        # the root's step already holds maybe_json(root input/output)
        root_step = steps[roots[0]]
        raw["input"] = root_step["input"]
        raw["output"] = root_step["output"]
    if pre is None:
        return normalize_trace(raw, source="langfuse")
    done = [p[2] if p[2] is not None else normalize_step(p[1], i) for i, p in enumerate(pre)]
    return trace_from_steps(raw, done, source="langfuse")


def is_langfuse_trace(obj: Any) -> bool:
    """A Langfuse trace as exported by the UI ({trace, observations}) or as the API returns it."""
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("trace"), dict) and isinstance(obj.get("observations"), list):
        return True
    return "id" in obj and (
        "htmlPath" in obj
        or "projectId" in obj
        or (isinstance(obj.get("observations"), list) and isinstance(obj.get("scores"), list))
    )


def export_to_unified(obj: dict) -> tuple[Trace, list[dict]]:
    """A Langfuse JSON object (export or API trace) -> (unified trace, its raw scores)."""
    if isinstance(obj.get("trace"), dict):
        trace, observations = obj["trace"], obj.get("observations")
    else:
        trace, observations = obj, None
    scores = trace.get("scores") if isinstance(trace.get("scores"), list) else []
    return langfuse_to_unified(trace, observations), [s for s in scores if isinstance(s, dict)]
