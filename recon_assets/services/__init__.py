"""What recon does to a day, once, for every entry point: the assets run it, and so does ``recon run``.

A service takes a warehouse connection and plain settings, calls the domain and the warehouse, and returns
what happened; it knows nothing of Dagster's assets, resources or the CLI.
"""
