"""careplane: an open-source platform for running an integrated health service."""

__version__ = "0.1.0"
