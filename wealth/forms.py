"""Wealth forms."""
