"""Pure computations on the shared model (book arithmetic, synthetic market data). No Django."""
