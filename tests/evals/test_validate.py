"""Layer 1: static validation, on its own."""

from __future__ import annotations

import pytest

from forge.evals.validate import validate_source

OK = "def evaluate(trace):\n    return True\n"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def evaluate(trace):\n    return (\n", "syntax error on line"),
        ("import os\ndef evaluate(t):\n    return True\n", "line 1: import of 'os' is not allowed"),
        ("from subprocess import run\ndef evaluate(t):\n    return True\n", "import from 'subprocess'"),
        ("from . import x\ndef evaluate(t):\n    return True\n", "relative imports"),
        ("from json import *\ndef evaluate(t):\n    return True\n", "import *"),
        ("from json import _default_decoder\ndef evaluate(t):\n    return True\n", "line 1: importing '_default"),
        ("def evaluate(t):\n    return t.__class__ is dict\n", "line 2: access to the dunder attribute '__class__'"),
        (
            "def evaluate(t):\n    g = (i for i in [1])\n    return g.gi_frame is None\n",
            "line 3: access to the attribute 'gi_frame'",
        ),
        ("def evaluate(t):\n    exec('x=1')\n    return True\n", "line 2: the name 'exec' is not allowed"),
        ("def evaluate(t):\n    return eval('True')\n", "the name 'eval'"),
        ("def evaluate(t):\n    return open('/etc/passwd') is None\n", "the name 'open'"),
        ("def evaluate(t):\n    return getattr(t, 'x', True)\n", "the name 'getattr'"),
        ("def evaluate(t):\n    return globals() is None\n", "the name 'globals'"),
        ("def evaluate(t):\n    return vars(t) is None\n", "the name 'vars'"),
        ("def evaluate(t):\n    return __import__('os') is None\n", "the name '__import__'"),
        ("def evaluate(t):\n    breakpoint()\n    return True\n", "the name 'breakpoint'"),
        ("def evaluate(t):\n    return compile('1', 'x', 'eval') is None\n", "the name 'compile'"),
        ("def evaluate(t):\n    return False, '{0.__class__}'.format(t)\n", "reads an attribute"),
        ("def evaluate(t):\n    f = '{}'\n    return False, f.format(t)\n", "only on a string literal"),
        ("def evaluate(t):\n    return False, '{0:{1.x}}'.format(1, t)\n", "reads an attribute"),
        ("def check(t):\n    return True\n", "no top-level function evaluate"),
        ("x = 1\n" * 60000 + OK, "the limit is 256 KB"),
        ("def evaluate(t):\n    return '\0'\n", None),
    ],
)
def test_forbidden_sources_are_refused_with_a_reason(source, expected):
    problem = validate_source(source)
    if expected is None:
        assert problem is None or "syntax" in problem
    else:
        assert problem is not None and expected in problem, problem


@pytest.mark.parametrize(
    "source",
    [
        OK,
        "import re, json\nfrom collections import Counter\nimport html.parser\n"
        "def evaluate(trace):\n    input = trace['input_text']\n"
        "    return bool(re.search('x', input)), f'{len(input)} chars'\n",
        "def evaluate(trace):\n    return True, 'n={} ok'.format(len(trace))\n",
        "class Check:\n    def __init__(self):\n        self.n = 1\ndef evaluate(trace):\n    return Check().n == 1\n",
        "if __name__ == '__main__':\n    pass\ndef evaluate(trace):\n    return True\n",
    ],
)
def test_ordinary_evals_pass(source):
    assert validate_source(source) is None
