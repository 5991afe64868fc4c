"""Offboarding: a departure, its preview, and the hand-over of the departing person's work."""
