"""The Forge server: the Streamlit app and the JSON API (/api/v1) on one port.

``python -m forge.ui.server [--port N] [--address A] [--server.option value ...]`` (what
``make run`` starts). The port is FORGE_PORT (default 8501), the database FORGE_DB.
While it runs, a small info file beside the database (``<db>.server.json``: url, port,
pid) tells the ``forge`` command on this machine to send itself to this server.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import contextlib
import functools
import gc
import importlib
import inspect
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from forge.config import ROOT, get, server_info_path, settings

APP_SCRIPT = ROOT / "app.py"
DEFAULT_PORT = 8501


def _local_url(address: str | None, port: int) -> str:
    host = address if address and address not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _write_info(path: Path, url: str, port: int) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"url": url, "port": port, "pid": os.getpid()}), encoding="utf-8")
    os.replace(tmp, path)


def _remove_info(path: Path) -> None:
    """Remove the info file if it is still ours (a newer server may have replaced it)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def _modules_of(script: Path) -> list[str]:
    """The modules ``script`` imports at its top level (``from a import b`` -> a, a.b), in order."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


# What streamlit-authenticator spends its import time on (measured: ~0.9 s of its ~1 s), minus its components.
_LOGIN_DEPENDENCIES = ("jwt", "yaml", "cryptography.fernet", "PIL.Image", "captcha.image")


def _streamlit_packages() -> set[str]:
    """Top-level modules of installed packages that require streamlit (component packages among them)."""
    from importlib import metadata

    needs_streamlit = set()
    for dist in metadata.distributions():
        requires = dist.requires or []
        if any(re.match(r"streamlit\b", r.strip(), re.IGNORECASE) for r in requires):
            needs_streamlit.add((dist.metadata.get("Name") or "").lower())
    return {
        top
        for top, dists in metadata.packages_distributions().items()
        if any(d.lower() in needs_streamlit for d in dists)
    }


# Packages known not to declare Streamlit components: imported without asking the package metadata.
_PLAIN_PACKAGES = frozenset({"pandas", "numpy", "pyarrow", "altair", "jwt", "yaml", "cryptography", "PIL", "captcha"})


def _declares_components(name: str, streamlit_packages: Callable[[], set[str]]) -> bool:
    # Streamlit registers a component only when its module is first imported inside a script
    # run, so anything that may declare one (streamlit itself, packages built on it, and
    # forge.ui, which imports them) is left to the first run.
    top = name.split(".")[0]
    if name == "forge.ui" or name.startswith("forge.ui.") or "streamlit" in top:
        return True
    if top == "forge" or top in _PLAIN_PACKAGES or top in sys.stdlib_module_names:
        return False
    return top in streamlit_packages()


def warm_up_modules() -> list[str]:
    """The modules the app and its pages need, without those that declare Streamlit components."""
    from forge.ui.navigation import HOME, PAGES

    scripts = [APP_SCRIPT, ROOT / HOME] + [ROOT / p.path for p in PAGES if p.path != HOME]
    streamlit_packages = functools.cache(_streamlit_packages)
    seen: set[Path] = set()
    out: list[str] = list(_LOGIN_DEPENDENCIES)
    while scripts:
        script = scripts.pop(0)
        if script in seen:
            continue
        seen.add(script)
        for name in _modules_of(script):
            if name.startswith("forge.ui."):
                scripts.append(ROOT / (name.replace(".", "/") + ".py"))  # what the page's views need
            elif not _declares_components(name, streamlit_packages) and name not in out:
                out.append(name)
    return out


# What the login page's first script run imports that may be imported before it (no Streamlit
# components among them): streamlit-authenticator's dependencies, and pandas, which Streamlit
# imports to check whether a component's arguments (the cookie manager's) are dataframes.
_LOGIN_PAGE_MODULES = ("pandas", "requests", *_LOGIN_DEPENDENCIES, "bcrypt", "forge.auth")
# And what the home page (where a login lands) adds: ~0.02 s, off the login's critical path.
_HOME_PAGE_MODULES = ("forge.demo", "forge.store.summary", "pyarrow.pandas_compat")
# Imported inside the functions that use them (so no page pays for them on import), but needed on
# the first visit of a page (the matrix's Wilson intervals): imported with the rest, after the first page.
_LAZY_MODULES = ("statsmodels.stats.proportion",)
_SCRIPT_THREAD = "ScriptRunner.scriptThread"  # the name Streamlit gives each script run's thread


def _import_all(names: Iterable[str], before_each: Callable[[], None] = lambda: None) -> None:
    for name in names:
        if name in sys.modules:
            continue
        before_each()
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - `from pkg import function` is not a module; the page will say
            continue


def _settle() -> None:
    """Make what was imported cheap for every later script run.

    Streamlit collects garbage after each run (``gc.collect(2)``: ~0.04-0.08 s walking every
    object the imports created); frozen, those are skipped. And Streamlit's component
    registration looks each caller up with ``inspect.getmodule``, whose file cache is filled
    here rather than in the first run.
    """
    inspect.getmodule(inspect.currentframe())
    gc.freeze()


def _script_running() -> bool:
    return any(t.name == _SCRIPT_THREAD for t in threading.enumerate())


def _wait_quiet(seconds: float) -> None:
    """Block until no script has run for ``seconds``, counting from now."""
    # The GIL and the CPUs are shared: a warm-up import would slow a run, and the browser drawing its result.
    last_busy = time.monotonic()
    while time.monotonic() - last_busy < seconds:
        if _script_running():
            last_busy = time.monotonic()
        time.sleep(0.02)


def _between_runs() -> None:
    """Return at once when no script runs; else once none has run for a moment."""
    if _script_running():
        _wait_quiet(0.3)


_LOGGED_IN = threading.Event()


def logged_in() -> None:
    """app.py calls this on each run with a user logged in: the pages' modules are wanted from now on."""
    _LOGGED_IN.set()


def warm_up() -> None:
    """Import what the app needs before a user waits for it, in two steps.

    Streamlit runs app.py and the pages as scripts, importing their modules on the first run.
    First, while the browser loads the frontend (~0.7 s of its own CPU), what the login page
    needs. Then, once someone has logged in and the app has been idle for a second (not while
    the login page waits for a password, nor while the page after it is drawn), the rest of
    what the pages import (about a second: altair, statsmodels, the logic behind the pages),
    one module at a time while no script runs.
    """
    from forge import api

    with contextlib.suppress(Exception):  # the app reports a busy or broken database itself
        api.database()  # opens DuckDB's instance for the file (and migrates) before the first page needs it
    _import_all([*_LOGIN_PAGE_MODULES, *_HOME_PAGE_MODULES])
    _settle()
    _LOGGED_IN.wait()
    _wait_quiet(1.0)  # the page after the login is drawn, and its cookie rerun is over
    _import_all([*warm_up_modules(), *_LAZY_MODULES], before_each=_between_runs)
    _settle()


def _no_delay_on_accepted_sockets() -> None:
    """Send small responses at once on kept-alive connections (TCP_NODELAY on the listening socket).

    Streamlit binds its socket with proto 0, so asyncio does not set TCP_NODELAY on the
    connections it accepts (it checks proto == IPPROTO_TCP). A response's headers and body
    then go in two writes, and on a reused connection the body waits for the client's
    delayed ACK: ~40 ms on every API call. Linux copies the option from the listening
    socket to the ones it accepts.
    """
    from streamlit.web.server.starlette import starlette_server

    bind = getattr(starlette_server, "_bind_socket", None)
    if bind is None or getattr(bind, "_forge_no_delay", False):
        return  # another Streamlit: nothing to wrap (the API is slower, not wrong)

    def bind_no_delay(*args: Any, **kwargs: Any) -> socket.socket:
        sock = bind(*args, **kwargs)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_no_delay._forge_no_delay = True  # type: ignore[attr-defined]
    starlette_server._bind_socket = bind_no_delay


def build_app() -> Any:
    """The Streamlit app with the API routes beside it."""
    from streamlit.starlette import App

    _no_delay_on_accepted_sockets()

    from forge import otel_api
    from forge.api import routes
    from forge.ui import session_cookie

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        from streamlit import config as st_config

        # The runner may have moved to the next free port: announce the one actually bound.
        port = int(st_config.get_option("server.port"))
        path = server_info_path(settings().db_path)
        _write_info(path, _local_url(st_config.get_option("server.address"), port), port)
        atexit.register(_remove_info, path)
        threading.Thread(target=warm_up, name="forge-warm-up", daemon=True).start()
        from forge import api, sync

        # Scheduled Langfuse syncs run here, in the process that owns the database; stopped on shutdown.
        scheduler = sync.start_scheduler(api.database)
        try:
            yield
        finally:
            scheduler.stop()
            _remove_info(path)

    # The login cookie's routes: it is set HttpOnly by the server, not by page JavaScript.
    return App(str(APP_SCRIPT), routes=routes() + otel_api.routes() + session_cookie.routes(), lifespan=lifespan)


def _parse(argv: list[str] | None) -> tuple[argparse.Namespace, dict[str, Any]]:
    p = argparse.ArgumentParser(
        prog="python -m forge.ui.server",
        description="Serve the Forge app and its JSON API (/api/v1) on one port.",
        epilog="Other Streamlit options pass through as --section.option VALUE, e.g. --server.headless true.",
    )
    p.add_argument("--port", type=int, help="port (default: $FORGE_PORT or 8501)")
    p.add_argument("--address", help="address to bind (default: all interfaces)")
    args, rest = p.parse_known_args(argv)
    options: dict[str, Any] = {}
    it = iter(rest)
    for flag in it:
        key = flag[2:] if flag.startswith("--") else ""
        if "." not in key:
            p.error(f"unknown argument {flag}")
        name, _, value = key.partition("=")
        options[name] = value if "=" in key else next(it, "true")
    for name, value in list(options.items()):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            options[name] = value.lower() == "true"
        elif isinstance(value, str) and value.isdigit():
            options[name] = int(value)
    return args, options


def main(argv: list[str] | None = None) -> None:
    """Start the server and block until it is stopped."""
    args, options = _parse(argv)
    if args.port or "server.port" not in options:
        options["server.port"] = args.port or int(get("FORGE_PORT") or DEFAULT_PORT)
    if args.address:
        options["server.address"] = args.address
    options.setdefault("browser.gatherUsageStats", False)
    # Streamlit decides once per process whether app.py is a legacy "pages/ folder" app, and runs
    # the first session's first run in that mode: a direct link such as /browse-traces on a fresh
    # server then shows "Page not found" before app.py calls st.navigation (and a file-name link
    # would run a page without the login gate). Forge's pages come from st.navigation only.
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    app = build_app()
    # App.run anchors sys.path and the script-level .streamlit/ on the launcher (argv[0]);
    # anchor them on app.py as `streamlit run app.py` does, not on forge/ (which would shadow modules).
    sys.argv = [str(APP_SCRIPT)]
    with contextlib.suppress(KeyboardInterrupt):
        app.run(config=options)


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
