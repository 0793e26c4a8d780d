"""No cached serial kernel calls a parallel one.

Numba compiles a ``parallel=True`` kernel into a gufunc that a serial ``cache=True``
kernel calling it does not relink when both are loaded from the disk cache: the call
jumps to address 0 and the process dies of a segfault (numba issue #8578), in a fresh
process only, so a test run that compiles the kernels first passes. Parallel kernels are
therefore called from Python (their block arrays allocated and added up there); this
test reads every compiled function of the package and checks it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attribution

PACKAGE = Path(attribution.__file__).parent


def _njit_options(node: ast.FunctionDef) -> dict[str, bool] | None:
    """The boolean options of the function's ``@njit(...)`` decorator (None: not one)."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call is not None else decorator
        if isinstance(target, ast.Name) and target.id == "njit":
            options = {}
            for keyword in call.keywords if call is not None else []:
                if keyword.arg and isinstance(keyword.value, ast.Constant):
                    options[keyword.arg] = bool(keyword.value.value)
            return options
    return None


def _compiled_functions() -> list[tuple[str, ast.FunctionDef, dict[str, bool]]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                options = _njit_options(node)
                if options is not None:
                    found.append((str(path.relative_to(PACKAGE)), node, options))
    return found


def _called_names(node: ast.FunctionDef) -> set[str]:
    return {
        call.func.id
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    }


def test_the_scan_finds_the_parallel_kernels() -> None:
    parallel = {node.name for _, node, options in _compiled_functions() if options.get("parallel")}
    # A scan that found nothing would pass whatever the code did.
    assert {"log_likelihood", "main_features_parallel", "_mask_sums"} <= parallel


def test_no_cached_serial_kernel_calls_a_parallel_one() -> None:
    functions = _compiled_functions()
    parallel = {node.name for _, node, options in functions if options.get("parallel")}
    offending = [
        f"{module}:{node.lineno} {node.name} calls {sorted(_called_names(node) & parallel)}"
        for module, node, options in functions
        if options.get("cache") and not options.get("parallel") and _called_names(node) & parallel
    ]
    assert not offending, offending
