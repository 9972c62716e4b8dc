"""Eval functions: contract, sandbox, runner, generation, synthesis (later issues)."""
