"""Surveillance computations: numpy/scipy in, arrays and dataclasses out. No Django, no database."""
