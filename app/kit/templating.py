"""The one template engine: Jinja2 with autoescape, as the workbench uses it (through Starlette).

Pages rendered outside a request (the public notice page, the simulation report) load their
templates from their own package's ``templates/`` directory.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined


def environment(package: str) -> Environment:
    """Templates of ``package`` (``package/templates/*.html``), every value escaped unless marked safe."""
    return Environment(loader=PackageLoader(package, "templates"), autoescape=True, keep_trailing_newline=True,
                       undefined=StrictUndefined)
