"""Best execution services: the only place that writes (see docs/tca-methodology.md)."""
