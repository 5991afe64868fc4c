"""The kernel every unit stands on. It imports no unit."""
