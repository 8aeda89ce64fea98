"""Benchmarks (``make bench``). Each module measures one thing and writes its own section of
``docs/benchmarks.md`` through :mod:`bench.common`."""
