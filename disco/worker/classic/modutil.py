"""``disco.worker.classic.modutil``: the Disco 0.5 alias of ``disco.worker.modutil``."""
from disco.worker.modutil import *  # noqa: F401,F403
from disco.worker.modutil import (ModUtilImportError, find_modules, import_modules,  # noqa: F401
                                  locate_modules, parse_function, recurse_module, user_paths)
