"""The shape of the package: no private names across modules, no import cycles, no upward imports.

Every module under gru_lib/ is parsed with ``ast`` (nothing is imported), its imports are
resolved to gru_lib modules (relative imports included, imports inside functions too) and
the graph is checked against the layering in gru_lib/__init__.py's docstring:

    paper, literature, checks, device, atomic, download  <  nn  <  training  <  music, speech
        <  tasks  <  experiments  <  __main__

A module may import from its own layer or any layer below it, never from one above;
gru_lib/__init__.py (the top-level re-exports) is exempt. ``python tests/test_layout.py``
prints the longest import chain.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gru_lib"
ROOT = "gru_lib"

# Lowest first. A key names a module, or a package and everything in it.
LAYERS = {
    "gru_lib.paper": 0, "gru_lib.literature": 0, "gru_lib.checks": 0, "gru_lib.device": 0,
    "gru_lib.atomic": 0, "gru_lib.download": 0, "gru_lib.style": 0,
    "gru_lib.nn": 1,
    "gru_lib.training": 2,
    "gru_lib.music": 3, "gru_lib.speech": 3,
    "gru_lib.tasks": 4,
    "gru_lib.experiments": 5,
    "gru_lib.__main__": 6,
}
EXEMPT = {ROOT}                      # gru_lib/__init__.py: the public re-exports


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@lru_cache(maxsize=None)
def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is its __init__.py)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _package_of(module: str) -> str:
    """The package a module's relative imports start from."""
    return module if modules()[module].name == "__init__.py" else module.rpartition(".")[0]


def _target(name: str) -> str | None:
    """The gru_lib module ``name`` is, or lies in (``gru_lib.nn.cells.GRUCell`` -> ``gru_lib.nn.cells``)."""
    while name:
        if name in modules():
            return name
        name = name.rpartition(".")[0]
    return None


@lru_cache(maxsize=None)
def imports(module: str) -> tuple[tuple[str, str, int], ...]:
    """(imported gru_lib module, name taken from it or "", line) for each import in ``module``."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _target(alias.name)
                if target:
                    found.append((target, "", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module).split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if _target(source) is None:
                continue                                  # not gru_lib: torch, numpy, __future__ ...
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules():               # ``from . import bptt``: the module itself
                    found.append((submodule, "", node.lineno))
                    if _is_private(alias.name):
                        found.append((source, alias.name, node.lineno))
                else:
                    found.append((_target(source), alias.name, node.lineno))
    return tuple(found)


def graph() -> dict[str, set[str]]:
    """module -> the gru_lib modules it imports (itself excluded)."""
    return {m: {t for t, _, _ in imports(m) if t != m} for m in modules()}


def layer(module: str) -> int | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == "open":
                return stack[stack.index(t):] + [t]
            if t not in state:
                cycle = visit(t)
                if cycle:
                    return cycle
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(edges):
        if m not in state:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def longest_chain() -> list[str]:
    """The longest chain of imports between gru_lib modules (gru_lib/__init__.py left out).

    The longer it is, the more a change at its bottom can ripple up; the layering bounds it.
    """
    edges = {m: ts - EXEMPT for m, ts in graph().items() if m not in EXEMPT}
    if find_cycle(edges):
        raise ValueError("the import graph has a cycle; a longest chain is not defined")
    best: dict[str, list[str]] = {}

    def chain(m):
        if m not in best:
            tails = [chain(t) for t in sorted(edges.get(m, ()))]
            best[m] = [m] + max(tails, key=len, default=[])
        return best[m]

    return max((chain(m) for m in sorted(edges)), key=len)


def _chain_note() -> str:
    try:
        return "longest import chain: " + " -> ".join(longest_chain())
    except ValueError as e:
        return str(e)


# -----------------------------------------------------------------------------------------


def test_every_module_is_found_and_has_a_layer():
    assert {"gru_lib.nn.cells", "gru_lib.training", "gru_lib.__main__"} <= set(modules())
    unplaced = [m for m in modules() if m not in EXEMPT and layer(m) is None]
    assert not unplaced, f"modules with no layer in tests/test_layout.py LAYERS: {unplaced}"


def test_no_module_imports_another_modules_private_names():
    bad = [f"{modules()[m].relative_to(PACKAGE.parent)}:{line}: imports {name} from {t}"
           for m in modules() for t, name, line in imports(m) if name and _is_private(name) and t != m]
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)


def test_no_module_reaches_into_another_modules_private_attributes():
    """``native._empty_twin(...)`` after ``from . import native`` is the same reach, spelled differently."""
    bad = []
    for m, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_names = set()                              # local names bound to gru_lib modules
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if isinstance(node, ast.Import):
                        local = alias.asname or alias.name.partition(".")[0]
                        if _target(alias.name):
                            module_names.add(local)
                    elif any(t in modules() and t.endswith("." + alias.name) and line == node.lineno
                             for t, name, line in imports(m) if not name):
                        module_names.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in module_names:
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                               f"{ast.unparse(node)}")
    assert not bad, "private attributes of other modules used:\n" + "\n".join(bad)


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_point_down_the_layers():
    bad = []
    for m, targets in graph().items():
        if m in EXEMPT:
            continue
        for t in sorted(targets):
            if t in EXEMPT or layer(t) > layer(m):
                bad.append(f"{m} (layer {layer(m)}) imports {t}"
                           + (" (gru_lib/__init__.py)" if t in EXEMPT else f" (layer {layer(t)})"))
    assert not bad, "imports pointing up the layering:\n" + "\n".join(bad) + "\n" + _chain_note()


def test_nn_modules_import_in_one_direction():
    """recurrent imports bptt and native; interop imports recurrent; native imports neither."""
    g = graph()
    assert {"gru_lib.nn.bptt", "gru_lib.nn.native"} <= g["gru_lib.nn.recurrent"]
    assert "gru_lib.nn.recurrent" in g["gru_lib.nn.interop"]
    assert not {"gru_lib.nn.recurrent", "gru_lib.nn.interop"} & g["gru_lib.nn.native"]
    assert not {"gru_lib.nn.recurrent", "gru_lib.nn.interop", "gru_lib.nn.native"} & g["gru_lib.nn.bptt"]


def test_longest_chain_is_a_real_chain():
    chain = longest_chain()
    g = graph()
    assert len(chain) >= 3 and all(b in g[a] for a, b in zip(chain, chain[1:])), _chain_note()
    assert [layer(m) for m in chain] == sorted((layer(m) for m in chain), reverse=True), _chain_note()


if __name__ == "__main__":
    print(_chain_note())
