"""Ready sweep specs shipped with hpo: ``hpo sweep quickstart`` resolves names to the YAML files here.

Package data only: ``hpo.spaces`` reads them with ``importlib.resources``; nothing here is code.
"""

__all__: list[str] = []
