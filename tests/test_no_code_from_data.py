"""Nothing in the packages turns data into code (docs/security.md).

Reads the syntax tree of every module in ``divergences`` and ``gan_theory`` and fails on any call
that can execute what it reads: ``eval``/``exec``/``compile`` (except the emitter's ``exec`` of the
source it printed itself, the one documented exception), ``pickle``/``marshal``/``shelve``/
``dill`` loading, ``torch.load`` without ``weights_only=True``, ``numpy.load`` with
``allow_pickle=True``, ``yaml.load``, ``sympify`` without ``strict=True`` and SymPy's
``parse_expr``. The oracle is the source text itself, so a new call site fails here until it is
made safe or documented.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("divergences", "gan_theory")

#: (module path, function) pairs allowed to call exec/compile: the emitter compiles the torch
#: source it printed itself from a checked SymPy expression (docs/security.md)
ALLOWED_EXEC = {("divergences/numeric/emit/printer.py", "compile_pieces")}

#: attribute or plain names whose call loads executable data
FORBIDDEN_LOADERS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("dill", "load"),
    ("dill", "loads"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
    ("jsonpickle", "decode"),
}


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _dotted(node: ast.AST) -> tuple[str, ...]:
    """``("torch", "load")`` for ``torch.load``; ``("eval",)`` for ``eval``."""
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.Attribute):
        return (*_dotted(node.value), node.attr)
    return ()


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _findings(path: Path, root: Path = ROOT) -> list[str]:
    relative = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(), filename=relative)
    found: list[str] = []
    functions: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in ast.walk(node):
                functions.setdefault(child, node.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(n.split(".")[0] in {"pickle", "marshal", "shelve", "dill"} for n in names):
                found.append(f"{relative}:{node.lineno}: imports a pickle-style loader")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        where = f"{relative}:{node.lineno}"
        runs_code = name in (("eval",), ("exec",), ("compile",))
        if runs_code and (relative, functions.get(node)) not in ALLOWED_EXEC:
            found.append(f"{where}: calls {name[0]}")
        if name[-2:] in FORBIDDEN_LOADERS:
            found.append(f"{where}: calls {'.'.join(name)}")
        if name[-1:] == ("load",) and name[:1] in (("torch",), ("np",), ("numpy",)):
            if name[0] == "torch" and not _is_true(_keyword(node, "weights_only")):
                found.append(f"{where}: torch.load without weights_only=True")
            allow_pickle = _keyword(node, "allow_pickle")
            unsafe = allow_pickle is not None and not (
                isinstance(allow_pickle, ast.Constant) and allow_pickle.value is False
            )
            if name[0] != "torch" and unsafe:
                found.append(f"{where}: numpy.load with allow_pickle")
        if name[-1:] == ("sympify",) and not _is_true(_keyword(node, "strict")):
            found.append(f"{where}: sympify without strict=True (it evaluates text)")
        if name[-1:] == ("parse_expr",):
            found.append(f"{where}: sympy parse_expr evaluates text")
    return found


def test_the_scan_sees_the_packages():
    modules = _modules()
    assert len(modules) > 50
    assert any(p.name == "printer.py" for p in modules)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("eval(x)", "calls eval"),
        ("import pickle", "pickle-style"),
        ("torch.load(f)", "weights_only"),
        ("torch.load(f, weights_only=False)", "weights_only"),
        ("np.load(f, allow_pickle=True)", "allow_pickle"),
        ("sp.sympify(text)", "sympify"),
        ("parse_expr(text)", "parse_expr"),
        ("yaml.load(f)", "yaml.load"),
    ],
)
def test_the_scan_finds_each_forbidden_call(tmp_path, source, expected):
    module = tmp_path / "bad.py"
    module.write_text(source + "\n")
    assert any(expected in line for line in _findings(module, tmp_path))


def test_safe_calls_pass(tmp_path):
    module = tmp_path / "safe.py"
    module.write_text(
        "torch.load(f, weights_only=True)\nsp.sympify(x, strict=True)\n"
        "np.load(f, allow_pickle=False)\njson.loads(t)\n"
    )
    assert _findings(module, tmp_path) == []


def test_no_module_turns_data_into_code():
    found = [line for path in _modules() for line in _findings(path)]
    assert not found, "\n".join(found)
