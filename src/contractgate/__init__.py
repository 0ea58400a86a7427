"""contractgate: contract tests and API conformance for threat-intelligence vendor APIs."""

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it
