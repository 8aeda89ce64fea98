"""Best execution reads shared by views and API. (Filled in by the Best execution issue.)"""
