"""Wealth admin registrations."""
