"""Reading the files a YAML entry's `json_path` names, as Arrow tables."""
