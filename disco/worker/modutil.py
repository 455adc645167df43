"""Finding the modules a job's functions need (``disco.worker.modutil`` of Disco 0.5).

A *modspec* item is ``"name"`` (a module to import on the nodes: it must be installed there) or
``("name", "/path/file.py")`` (a module of the user's own, shipped in the job home at its path with
the leading ``/`` dropped; the job's ``PYTHONPATH`` lists ``sys.path`` the same way, so it imports
under the same name). A module is the user's own (*local*) when its file lies under the working
directory, a ``PYTHONPATH`` entry or the directory of the ``__main__`` script, and not in the
standard library or a site-packages directory; ``disco`` itself never is (nodes have it).
"""
import functools
import inspect
import os
import site
import sys
import sysconfig
import types

from disco.error import DiscoError


class ModUtilImportError(DiscoError, ImportError):
    """A required module cannot be imported."""

    def __init__(self, error, function):
        super().__init__("%s: cannot import a module needed by %s" % (error, function))


def user_paths():
    """Directories whose modules are the user's own (see the module doc)."""
    paths = {os.getcwd()}
    paths.update(os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(":") if p)
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file:
        paths.add(os.path.dirname(os.path.abspath(main_file)))
    return paths


@functools.lru_cache(maxsize=1)
def _system_paths():
    """The standard library and site-packages directories (fixed for the life of a process)."""
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages() + [site.getusersitepackages()])
    return frozenset(os.path.abspath(p) for p in paths if p)


def _under(path, dirs):
    return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in dirs)


def is_local(module, paths=None):
    """True if ``module`` is the user's own (see the module doc)."""
    name = getattr(module, "__name__", "")
    path = getattr(module, "__file__", None)
    if not path or name == "__main__" or name.split(".")[0] == "disco":
        return False
    path = os.path.abspath(path)
    return not _under(path, _system_paths()) and _under(path, paths or user_paths())


def parse_function(function):
    """The plain function (or class) behind ``function``: partials and bound methods unwrapped,
    a callable instance gives its class."""
    while isinstance(function, functools.partial):
        function = function.func
    if inspect.ismethod(function):
        function = function.__func__
    if not (inspect.isfunction(function) or inspect.isclass(function)):
        function = type(function)
    return function


def scanner(code):
    """The global names ``code`` (and the code objects nested in it) loads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= scanner(const)
    return names


def _module_of(obj):
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj):
        return getattr(obj, "__module__", None)
    return None


def referenced_modules(function, exclude=()):
    """Names of the modules ``function`` refers to: its own and those of the globals it uses."""
    function = parse_function(function)
    modules = {function.__module__}
    if inspect.isclass(function):
        for value in vars(function).values():
            if inspect.isfunction(value):
                modules |= referenced_modules(value, exclude)
        return modules
    glob = function.__globals__
    values = [glob[n] for n in scanner(function.__code__) if n in glob and n not in exclude]
    values += [c.cell_contents for c in function.__closure__ or () if _filled(c)]
    modules.update(m for m in map(_module_of, values) if m)
    return modules


def _filled(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def recurse_module(module, paths=None):
    """Names of the local modules ``module``'s globals refer to, recursively (itself included)."""
    found, todo = set(), [module]
    while todo:
        name = todo.pop()
        mod = sys.modules.get(name)
        if name in found or mod is None or not is_local(mod, paths):
            continue
        found.add(name)
        todo.extend(m for m in map(_module_of, vars(mod).values()) if m)
    return found


def find_modules(functions, send_modules=True, job_path=None, recurse=True, exclude=()):
    """The modspec of ``functions``: local modules as ``(name, path)`` (names only unless
    ``send_modules``), other modules as names; ``job_path`` adds the module whose file it is."""
    paths = user_paths()
    names = set()
    for function in functions:
        names |= referenced_modules(function, exclude)
    if job_path:
        names.update(n for n, m in list(sys.modules.items())
                     if getattr(m, "__file__", None) == job_path)
    if recurse:
        for name in list(names):
            names |= recurse_module(name, paths)
    return locate_modules(sorted(names - {"__main__", "builtins"}), send_modules, paths)


def locate_modules(modules, send_modules=True, paths=None):
    """Modspec items for module names: ``(name, path)`` for local modules, else the name."""
    result = []
    for name in modules:
        module = sys.modules.get(name)
        if module is None:
            continue
        if send_modules and is_local(module, paths):
            result.append((name, os.path.abspath(module.__file__)))
        else:
            result.append(name)
    return result


def module_files(name, path):
    """``(file path, arcname)`` of a shipped module and of its packages' ``__init__.py`` files:
    arcnames are the absolute paths with the leading ``/`` dropped (the worker's ``PYTHONPATH``
    holds this client's ``sys.path`` so rebased), or ``lib/<dotted path>`` when the module's
    root directory is not on ``sys.path`` (``lib`` is on the worker's path too)."""
    path = os.path.abspath(path)
    files = [path]
    directory = os.path.dirname(path)
    if os.path.basename(path) == "__init__.py":
        directory = os.path.dirname(directory)
    for _ in name.split(".")[:-1]:
        init = os.path.join(directory, "__init__.py")
        if os.path.isfile(init):
            files.append(init)
        directory = os.path.dirname(directory)
    if directory not in {os.path.abspath(p) for p in sys.path}:  # the module's root directory
        return [(f, os.path.join("lib", os.path.relpath(f, directory))) for f in files]
    return [(f, f.lstrip("/")) for f in files]


def import_modules(modspec):
    """Import the modules of ``modspec``; ``{short name: module}`` for injection into job
    functions (``os.path`` is available as ``os`` too, like ``import os.path``)."""
    imported = {}
    for item in modspec or ():
        name = item[0] if isinstance(item, (tuple, list)) else item
        try:
            module = __import__(name)
        except ImportError as e:
            raise ModUtilImportError(e, name)
        imported[name.split(".")[0]] = module
    return imported
