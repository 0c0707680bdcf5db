"""The compiled modules of ``distillwatch._native`` (Cython); all other settings are in
pyproject.toml. ``pip install .`` / ``pip install -e .`` (``make install``) build them; the
build needs a C compiler and the Python headers, and Cython comes from the build requirements.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

NATIVE = ["columns", "masks", "tokens"]

setup(
    ext_modules=cythonize(
        [
            Extension(f"distillwatch._native.{name}", [f"src/distillwatch/_native/{name}.pyx"])
            for name in NATIVE
        ],
        compiler_directives={"language_level": 3},
    )
)
