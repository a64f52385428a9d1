"""The bench: `python -m bench --help` (see bench/__main__.py)."""
