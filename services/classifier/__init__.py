"""Classifier: separates missing from absent with explainable, versioned rules."""

SERVICE = "classifier"
