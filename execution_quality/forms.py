"""Best execution forms."""
