"""Build the compiled core: Cython sources in src/ become modules of the disco package."""
from Cython.Build import cythonize
from setuptools import Extension, setup

EXTENSIONS = [
    Extension("disco._jobpack", ["src/jobpack.pyx"]),
    Extension("disco._streams", ["src/streams.pyx"]),
    Extension("disco._merge", ["src/merge.pyx"]),
    Extension("disco._partition", ["src/partition.pyx"]),
]

setup(
    ext_modules=cythonize(
        EXTENSIONS,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    ),
)
