"""Surveillance forms."""
