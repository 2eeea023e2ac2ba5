"""s1app: hands-on test-time scaling with budget forcing (s1: Simple test-time scaling)."""

__version__ = "0.1.0"
