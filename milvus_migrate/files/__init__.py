"""Migration files: YAML specs, templating, loading and validation, scaffolding and writing files."""
