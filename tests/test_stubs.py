"""The type stubs of the compiled modules (``disco/_*.pyi``) declare what the modules define:
every public name (type aliases aside), and for functions and methods the same parameters."""
import ast
import importlib
import inspect
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPILED = ("_jobpack", "_streams", "_merge", "_partition")


def stub(name):
    """``{name: ast node}`` of the top level of ``disco/<name>.pyi`` (classes: their body too,
    as ``Class.attr``)."""
    with open(os.path.join(REPO, "disco", name + ".pyi"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
            for item in getattr(node, "body", []) if isinstance(node, ast.ClassDef) else []:
                if isinstance(item, ast.FunctionDef):
                    names["%s.%s" % (node.name, item.name)] = item
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = node
        elif isinstance(node, ast.ImportFrom) and node.module.startswith("disco"):
            names.update((a.asname or a.name, node) for a in node.names)
    return names


def public(module):
    return {n for n, v in vars(module).items() if not n.startswith("_") and not inspect.ismodule(v)}


def parameters(node):
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args + ([args.vararg] if args.vararg else [])
             + args.kwonlyargs]
    return [n for n in names if n != "self"]


@pytest.mark.parametrize("name", COMPILED)
def test_every_public_name_is_declared_and_exists(name):
    module = importlib.import_module("disco." + name)
    declared = {n for n in stub(name) if "." not in n and not n.startswith("_")}
    assert public(module) - declared == set(), "not in the stub"
    assert declared - public(module) == set(), "not in the module"
    assert os.path.isfile(os.path.join(REPO, "disco", "py.typed"))


@pytest.mark.parametrize("name", COMPILED)
def test_functions_take_the_declared_parameters(name):
    module = importlib.import_module("disco." + name)
    checked = 0
    for qualname, node in stub(name).items():
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("__") and node.name != "__init__":
            continue
        owner, _, attr = qualname.rpartition(".")
        obj = getattr(getattr(module, owner), attr) if owner else getattr(module, attr)
        if owner and attr == "__init__":
            obj = getattr(module, owner)
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):
            continue     # a compiled method without a text signature
        actual = [p for p in signature.parameters if p != "self"]
        if actual == ["args", "kwargs"]:
            continue     # a cdef class __init__ Cython does not describe
        assert actual == parameters(node), qualname
        checked += 1
    assert checked > 0
