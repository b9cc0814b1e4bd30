"""ml_collections configs, one file per experiment; `get_config("quick")` for CPU minutes."""
