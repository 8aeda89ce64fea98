"""Market risk tables. (Filled in by the Market risk issue.)"""
