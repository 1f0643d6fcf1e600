"""Ready sweep specs shipped with hpo: ``hpo sweep quickstart`` resolves names to the YAML files here."""
