"""Notifier: tells the right people, each only what they may see; never lost, never twice."""

SERVICE = "notifier"
