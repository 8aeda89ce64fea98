"""Market risk reads shared by views and API. (Filled in by the Market risk issue.)"""
