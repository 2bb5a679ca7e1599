"""The `hf-mixture` command: one module per subcommand."""
