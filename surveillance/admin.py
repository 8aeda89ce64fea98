"""Surveillance admin registrations."""
