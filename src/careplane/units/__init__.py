"""The six business units, one package each (see ARCHITECTURE.md)."""
