"""Version of the kura_sklearn package."""

__version__ = "0.1.0"
