"""Notebook experience: pure views and the ipywidgets playground built on them."""

from .playground import FIELDS, Playground, PlaygroundModel, config_from_values, playground, values_from_config
from .views import PasteError, clusters_svg, error_html, parse_pasted, requests_html, state_html

__all__ = ["FIELDS", "PasteError", "Playground", "PlaygroundModel", "clusters_svg", "config_from_values",
           "error_html", "parse_pasted", "playground", "requests_html", "state_html", "values_from_config"]
