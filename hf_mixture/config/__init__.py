"""Stage YAML files: reading, strategy parsing, the config model, checking."""
