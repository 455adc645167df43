"""The import structure of the ``disco`` package: one direction, no cycle (docs/README.md#how-the-python-package-is-layered).

The graph is read from the source with ``ast``: every ``import``/``from ... import`` statement,
at module level or inside a function, with relative imports resolved. Importing ``a.b.c`` runs
``a/__init__`` and ``a/b/__init__`` first, so it is an edge to each of them too, except to the
importer's own enclosing packages (a package that imports its own submodules is the normal way
to re-export them). The compiled modules (``src/*.pyx``, built as ``disco._<name>``) count with
the imports their source names. Names that only an old location re-exports lazily (a module
``__getattr__`` over a table of strings, see ``disco.util``) are not imports and are checked by
the tests of those modules instead.
"""
import ast
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "disco")
PYX_IMPORT = re.compile(r"^\s*(?:from\s+(disco[\w.]*)\s+c?import\s+([\w, ]+)|import\s+(disco[\w.]*))",
                        re.M)


def module_files():
    """``{module name: source path}`` of every module of the package (and the compiled ones)."""
    modules = {}
    for root, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__")) and d != "www"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                parts = os.path.relpath(path, REPO)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
    for name in os.listdir(os.path.join(REPO, "src")):
        if name.endswith(".pyx"):
            modules["disco._" + name[:-4]] = os.path.join(REPO, "src", name)
    return modules


def ancestors(module):
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported(module, path, modules):
    """``[(target module, line)]`` of the disco modules that ``module`` imports."""
    is_package = path.endswith("__init__.py")
    found = []  # (name, line, explicit): explicit when the statement names that module itself
    with open(path, encoding="utf-8") as f:
        source = f.read()
    if path.endswith(".pyx"):
        for m in PYX_IMPORT.finditer(source):
            line = source.count("\n", 0, m.start()) + 1
            base = m.group(1) or m.group(3)
            found.append((base, line, True))
            for name in (m.group(2) or "").split(","):
                found.append(("%s.%s" % (base, name.strip()), line, False))
    else:
        for node in ast.walk(ast.parse(source, path)):
            if isinstance(node, ast.Import):
                found.extend((alias.name, node.lineno, True) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[:len(package) - (node.level - 1)]
                    base = ".".join(package + ([node.module] if node.module else []))
                else:
                    base = node.module
                submodules = ["%s.%s" % (base, a.name) for a in node.names
                              if "%s.%s" % (base, a.name) in modules]
                # "from p import submodule" needs p's __init__ only as the submodule's parent
                found.append((base, node.lineno, len(submodules) < len(node.names)))
                found.extend((name, node.lineno, True) for name in submodules)
    edges = []
    own = set(ancestors(module))
    for name, line, explicit in found:
        if not name.startswith("disco"):
            continue
        # an explicit import needs the module itself; any import needs its enclosing packages
        needed = ancestors(name) + ([] if explicit else [name])
        targets = ([name] if explicit else []) + [a for a in needed if a not in own]
        edges.extend((t, line) for t in targets if t in modules and t != module)
    return edges


def import_graph():
    modules = module_files()
    graph = {}
    for module, path in sorted(modules.items()):
        graph[module] = {}
        for target, line in imported(module, path, modules):
            graph[module].setdefault(target, line)
    return graph


def find_cycle(graph):
    """One import cycle as ``[m0, m1, ..., m0]``, or None (depth-first search)."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def describe(graph, cycle):
    return "\n".join("  %s -> %s (line %d)" % (a, b, graph[a][b]) for a, b in zip(cycle, cycle[1:]))


def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    """The parser counts an import inside a function and resolves ``from .x import y``."""
    modules = {"disco": "", "disco.a": "", "disco.b": "", "disco.pkg": "", "disco.pkg.c": ""}
    source = tmp_path / "c.py"
    source.write_text("def f():\n    from disco import a\n    from ..b import thing\n"
                      "from . import c\n")
    edges = dict(imported("disco.pkg.c", str(source), modules))
    assert edges == {"disco.a": 2, "disco.b": 3}


def test_no_import_cycle_among_disco_modules():
    graph = import_graph()
    assert len(graph) > 50, "the module walk found only %d modules" % len(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle:\n" + describe(graph, cycle)


def loaded_by(statement):
    code = ("import sys; %s; print(' '.join(sorted(m for m in sys.modules if m.startswith('disco'))))"
            % statement)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    return out.split()


def test_the_master_loads_no_worker_library():
    loaded = loaded_by("import disco.master.master")
    assert "disco.master.master" in loaded
    assert [m for m in loaded if m.startswith("disco.worker")] == []


def moved_tables():
    """``{module: {name: "module[:attribute]"}}``: the ``_MOVED`` tables of lazy re-exports."""
    tables = {}
    for module, path in module_files().items():
        if path.endswith(".py"):
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in tree.body:
                if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["_MOVED"]:
                    tables[module] = ast.literal_eval(node.value)
    return tables


def test_names_defined_higher_up_are_still_importable_where_they_were():
    """Every name of a ``_MOVED`` table is the object of its new home, and looking it up is
    what imports that home: importing the old module alone does not."""
    tables = moved_tables()
    assert {"disco.util", "disco.core", "disco.schemes"} <= set(tables)
    for module, table in sorted(tables.items()):
        for name, target in sorted(table.items()):
            home, _, attribute = target.partition(":")
            code = ("import importlib, sys; old = importlib.import_module(%r); "
                    "assert %r not in sys.modules, 'eager'; value = getattr(old, %r); "
                    "assert value is getattr(sys.modules[%r], %r)" % (module, home, name, home, attribute or name))
            result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
            assert result.returncode == 0, "%s.%s -> %s: %s" % (module, name, target, result.stderr[-500:])
        with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
            getattr(__import__(module, fromlist=["_"]), "no_such_name")


if __name__ == "__main__":
    g = import_graph()
    c = find_cycle(g)
    print("no cycle" if c is None else "import cycle:\n" + describe(g, c))
