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


def project_settings(project: Any, destination: Any) -> dict[str, Any]:
    """The ``Simulator`` settings of the Mixpanel project (given, or assumed from the destination like ``mpsim.replay``)."""
    from ..mixpanel import Simulator

    if isinstance(project, Simulator):
        raise MpsimError("mpsim.scale takes the project as a dict of Simulator settings, not a Simulator")
    try:
        from ..project import resolve_project  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        resolve_project = None
    if resolve_project is not None:
        return dict(resolve_project(project, destination).settings)
    if project is not None:
        return dict(project)
    from ..replay import simulator_for

    sim = simulator_for(destination)
    return {"token": sim.token, "identity_merge": sim.identity_merge}
