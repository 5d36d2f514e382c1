"""The optional dependencies of ``mpsim.scale``, and the one message that says how to get them."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import MpsimError

EXTRA = 'pip install "mpsim[scale]"'
MODULES = ("dask", "dask.dataframe", "pyarrow", "fsspec")


class MissingExtra(MpsimError, ImportError):
    """mpsim.scale needs Dask, pyarrow and fsspec, which come with the ``scale`` extra."""


def require() -> None:
    """Import the scale extra's packages, or say exactly what to install."""
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingExtra(f"mpsim.scale needs {name.split('.')[0]} ({exc.msg}); install the scale extra: "
                               f"{EXTRA}") from None


def project_of(project: Any, destination: Any) -> Any:
    """The Mixpanel project (``mpsim.project.Project``): given, or assumed from the destination like ``mpsim.replay``."""
    from ..project import resolve_project

    return resolve_project(project, destination)
