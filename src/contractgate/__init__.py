"""contractgate: contract tests and API conformance for threat-intelligence vendor APIs."""
