"""Static validation of an eval's source: the first layer, before anything runs.

It refuses what the eval contract forbids, with the line: imports outside ALLOWED_IMPORTS,
dunder attribute access, frame/code introspection attributes, exec/eval/compile/open/
globals/vars/getattr/setattr/__import__/breakpoint/input and friends, ``str.format`` on
anything but a literal whose fields do no attribute access, and sources over 256 KB.
It is a friendly gate, not the boundary: the sandbox assumes it can be bypassed.
"""

from __future__ import annotations

import ast
import string

from forge.evals.contract import ALLOWED_IMPORTS, ENTRY_POINT, MAX_SOURCE_BYTES

FORBIDDEN_NAMES = frozenset(
    {
        "__import__",
        "__builtins__",
        "__loader__",
        "__spec__",
        "breakpoint",
        "compile",
        "delattr",
        "dir",
        "eval",
        "exec",
        "exit",
        "getattr",
        "globals",
        "help",
        "input",
        "locals",
        "memoryview",
        "open",
        "quit",
        "setattr",
        "vars",
        "Formatter",
    }
)
# Dunder names that are plain data and common in pasted code.
_HARMLESS_DUNDERS = frozenset({"__name__", "__doc__", "__init__"})
# Non-dunder attributes that reach frames, code objects or the interpreter.
FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "ag_await",
        "f_back",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_code",
        "f_trace",
        "tb_frame",
        "tb_next",
        "co_code",
        "co_consts",
        "co_names",
        "mro",
        "format_map",
        "vformat",
        "get_field",
        "format_field",
        "Formatter",
    }
)


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the source binds itself (a local ``input = ...`` is not the builtin)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).partition(".")[0] for a in node.names)
    return bound


def _format_fields_problem(text: str, depth: int = 0) -> str | None:
    """Why a literal format string is unsafe (a field that reads an attribute), else None."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return None  # str.format raises on it at run time anyway
    for _, name, spec, _ in parts:
        if name is not None and "." in name:
            return f"format field '{{{name}}}' reads an attribute"
        if spec and depth < 2:
            why = _format_fields_problem(spec, depth + 1)
            if why:
                return why
    return None


def _problem(node: ast.AST, bound: set[str]) -> str | None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            root = alias.name.partition(".")[0]
            if root not in ALLOWED_IMPORTS:
                return f"import of '{alias.name}' is not allowed (allowed: {', '.join(sorted(ALLOWED_IMPORTS))})"
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            return "relative imports are not allowed"
        module = node.module or ""
        if module == "__future__":  # compiler directives (``annotations``), not a module the eval uses
            return None
        if module.partition(".")[0] not in ALLOWED_IMPORTS:
            return f"import from '{module}' is not allowed (allowed: {', '.join(sorted(ALLOWED_IMPORTS))})"
        for alias in node.names:
            if alias.name == "*":
                return "'from ... import *' is not allowed"
            if alias.name.startswith("_") or alias.name in FORBIDDEN_NAMES:
                return f"importing '{alias.name}' from '{module}' is not allowed"
    elif isinstance(node, ast.Attribute):
        attr = node.attr
        if attr.startswith("__") and attr not in _HARMLESS_DUNDERS:
            return f"access to the dunder attribute '{attr}' is not allowed"
        if attr in FORBIDDEN_ATTRIBUTES:
            return f"access to the attribute '{attr}' is not allowed"
    elif isinstance(node, ast.Name):
        if node.id.startswith("__") and node.id not in _HARMLESS_DUNDERS:
            return f"the name '{node.id}' is not allowed"
        if node.id in FORBIDDEN_NAMES and node.id not in bound:
            return f"the name '{node.id}' is not allowed"
    return None


def _format_problem(tree: ast.AST) -> tuple[int, str] | None:
    """``x.format(...)``: only on a string literal whose fields read no attributes."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "format":
            base = node.value
            if not (isinstance(base, ast.Constant) and isinstance(base.value, str)):
                return node.lineno, "str.format is allowed only on a string literal (use an f-string)"
            why = _format_fields_problem(base.value)
            if why:
                return node.lineno, why
    return None


def imported_modules(source: str) -> list[str]:
    """The allowed modules the source imports (and ``from X import Y`` submodule candidates), for preloading."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return sorted(n for n in names if n.partition(".")[0] in ALLOWED_IMPORTS)


def validate_source(source: str) -> str | None:
    """None when the source may run, else the reason (with its line) it may not."""
    if not isinstance(source, str):
        return "eval source must be text"
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        return f"eval source is {size} bytes; the limit is {MAX_SOURCE_BYTES // 1024} KB"
    try:
        tree = ast.parse(source, filename="<eval>")
    except SyntaxError as exc:
        return f"syntax error on line {exc.lineno}: {exc.msg}"
    except (ValueError, MemoryError, RecursionError) as exc:
        return f"syntax error: {exc}"
    bound = _bound_names(tree)
    for node in ast.walk(tree):
        why = _problem(node, bound)
        if why:
            return f"line {getattr(node, 'lineno', '?')}: {why}"
    fmt = _format_problem(tree)
    if fmt:
        return f"line {fmt[0]}: {fmt[1]}"
    if not any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == ENTRY_POINT for n in tree.body
    ) and not any(
        isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == ENTRY_POINT for t in n.targets)
        for n in tree.body
    ):
        return f"the eval defines no top-level function {ENTRY_POINT}(trace)"
    return None
