"""preflight: a deployment preflight linter for Python web services."""

__version__ = "0.1.0"
