"""The one base class of every bad-input error hpo raises.

``spaces``, ``trainables`` and ``results`` import none of each other, so the base lives here,
beside them: each package's own errors (``SpecError``, ``TrainableNotFoundError``,
``StoreError``, ``SweepInputError``, ...) derive from it, and the CLI maps this one class to
exit code 2 with the error's one-line text. Nothing else lives here.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """A request hpo cannot carry out as given: a bad spec, name, path, store or environment.

    ``str()`` is the message the CLI prints (one line, or a header and one line per problem for
    a spec); it names what is wrong and where, and how to fix it where that is obvious.
    """
