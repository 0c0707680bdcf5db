"""The compiled modules of ``distillwatch._native`` (Cython); all other settings are in
pyproject.toml. ``pip install .`` / ``pip install -e .`` (``make install``) build them; the
build needs a C compiler and the Python headers, and Cython comes from the build requirements.
The extensions are optional: where they cannot be compiled, the install goes on without them
and the package runs its Python code instead (same results, slower; ``tests/test_native_*``
fail there, so CI notices).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

NATIVE = ["blocks", "columns", "keys", "lines", "masks", "tokens"]

extensions = cythonize(
    [
        Extension(f"distillwatch._native.{name}", [f"src/distillwatch/_native/{name}.pyx"])
        for name in NATIVE
    ],
    compiler_directives={"language_level": 3},
)
for extension in extensions:
    extension.optional = True  # set after cythonize, which does not carry it over

setup(ext_modules=extensions)
