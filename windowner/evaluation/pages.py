"""HTML pages from template files shipped with the package: the ``evaluate --html`` report and the serve page.

Templates are plain HTML, CSS and JavaScript files in the ``templates`` folder of the package that renders them
(``windowner/evaluation/templates``, ``windowner/integrations/templates``), read with :mod:`importlib.resources`.
An HTML template marks where content goes with ``{{name}}`` (lowercase letters, digits, underscores), and
:func:`fill` replaces every mark in one pass: a value is inserted as it is, so it must already be HTML (text goes
through :func:`escape`), and it is never searched for marks itself. A mark without a value, or a value without a
mark, is an error, so a template and its renderer cannot drift apart unnoticed.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib import resources

__all__ = ["escape", "fill", "label_css", "template"]

_MARK = re.compile(r"\{\{([a-z0-9_]+)\}\}")


@cache
def template(package: str, name: str) -> str:
    """The text of template file ``name`` in the ``templates`` folder of ``package`` (a dotted module name)."""
    return resources.files(package).joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def fill(text: str, **values: str) -> str:
    """``text`` with each ``{{name}}`` replaced by ``values[name]`` (HTML, inserted as it is); ValueError if the
    marks and the values do not match one for one."""
    marks = set(_MARK.findall(text))
    if marks != set(values):
        raise ValueError(f"template marks {sorted(marks)} do not match the values given {sorted(values)}")
    return _MARK.sub(lambda m: values[m.group(1)], text)


def escape(value: object) -> str:
    """``str(value)`` as HTML text or attribute value: ``& < > " '`` escaped."""
    return html.escape(str(value), quote=True)


def label_css() -> str:
    """The label colours ``c0``..``c7`` and the label chip ``.tag``, shared by the report and the serve page."""
    return template(__name__.rpartition(".")[0], "labels.css")
