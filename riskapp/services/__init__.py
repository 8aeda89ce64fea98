"""Risk services: the only code that writes risk tables (runs, limits, breaches, scenarios).

Split by meaning: ``limits`` (definitions, checks, breaches, kill switch), ``pretrade`` (the
cached pre-trade check), ``runs`` (risk calculations), ``mc_shards`` (a run's Monte Carlo
split over workers).
"""
