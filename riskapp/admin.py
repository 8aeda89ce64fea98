"""Market risk admin registrations."""
