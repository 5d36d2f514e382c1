"""Notebook experience: pure views and the ipywidgets playground built on them.

Loaded lazily: the views are imported by mpsim's own ``_repr_html_`` methods, and the playground
pulls in ipywidgets, which a script that never opens it should not pay for.
"""

from __future__ import annotations

from typing import Any

_VIEWS = ("PasteError", "clusters_svg", "error_html", "parse_pasted", "requests_html", "state_html",
          "output_html", "table_html", "mark_frame")
_PLAYGROUND = ("FIELDS", "Playground", "PlaygroundModel", "config_from_values", "playground", "values_from_config")

__all__ = [*_PLAYGROUND, *_VIEWS]


def __getattr__(name: str) -> Any:
    if name in _VIEWS:
        from . import views

        return getattr(views, name)
    if name in _PLAYGROUND:
        from importlib import import_module

        module = import_module(f"{__name__}.playground")
        # the submodule and its main function share a name: the package attribute is the function
        globals().update({n: getattr(module, n) for n in _PLAYGROUND})
        return globals()[name]
    raise AttributeError(f"module 'mpsim.notebook' has no attribute {name!r}")
