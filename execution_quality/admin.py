"""Best execution admin registrations."""
