"""The patient registry every unit shares."""
