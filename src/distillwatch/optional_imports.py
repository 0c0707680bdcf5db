"""Import a library without the optional extras it would pull in and we never use.

Two libraries the detection stages need import large optional companions at import time:
``igraph`` imports ``matplotlib.pyplot`` (for plotting, 0.45 CPU s) and ``lightgbm`` imports
scikit-learn (for its estimator wrappers, 0.8 CPU s, with SciPy's statistics). A scan uses
neither -- igraph's Leiden and spanning trees, LightGBM's ``Booster`` -- yet paid 1.2 CPU s
in every process that links or scores (``benchmarks/results/scan.md``). Both libraries
import the companion in ``try: ... except ImportError`` and run without it; :func:`without`
makes it look absent for the duration of the import, the way Python documents it (a
``None`` entry in ``sys.modules``), and then takes the entry away again, so that a later
``import matplotlib`` or ``import sklearn`` works as usual.

What is lost in that process: igraph's plotting (``igraph.plot``) and LightGBM's
scikit-learn estimators (``LGBMClassifier``); ``lightgbm.train`` and ``Booster`` are the same.
A companion already imported is never hidden: the library then gets it as before. Meant for
module import time: while the block runs, another thread importing the companion would be
refused too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(*modules: str) -> Iterator[None]:
    """Within the block, ``import`` of any of ``modules`` that is not imported yet raises
    ``ImportError`` (and so do imports of their submodules)."""
    hidden = [name for name in modules if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # documented: import fails
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
