"""Pharmacy's use cases on prescriptions, by topic: receiving them, who may open them, verifying them."""
