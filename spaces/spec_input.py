"""A spec as Python callers hand it over: a parsed ``SweepSpec``, a dict, or a YAML file's path.

A notebook builds its spec as a dict; a script names a file. Every Python entry point that takes
a spec (``run_sweep``, ``build_plan``, ``dry_run_report``) passes it through :func:`as_spec`
first, so a dict is checked exactly as a YAML file is (every problem at once, by dotted path),
its errors naming ``spec`` where a file's name its path.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

from hpo.spaces.errors import SpecError
from hpo.spaces.models import SweepSpec
from hpo.spaces.validate import load_spec, parse_spec

__all__ = ["as_spec"]


def as_spec(spec: Any) -> SweepSpec:
    """The validated ``SweepSpec`` for a spec given as a parsed spec, a mapping or a file's path.

    Args:
        spec: A ``SweepSpec`` (returned as it is); a mapping with the keys of a spec file (``name``,
            ``trainable``, ``metric``, ...), validated as ``parse_spec`` does; or a ``str`` /
            ``os.PathLike`` path of a YAML spec file, or the name of a built-in spec, read as
            ``load_spec`` does.

    Raises:
        SpecError: the spec's problems, all of them (``spec: 2 problems`` for a mapping, the
            file's path for a file), or a value of another type (one line).
    """
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, Mapping):
        # A copy: the caller's dict (a notebook cell's) stays theirs to change for the next sweep.
        return parse_spec(copy.deepcopy(dict(spec)))
    if isinstance(spec, str | os.PathLike):
        return load_spec(spec)
    raise SpecError([("", "expected a SweepSpec, a dict, or the path of a YAML spec file, "
                          f"got {type(spec).__name__}")])
