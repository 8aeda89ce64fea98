"""Market risk forms."""
