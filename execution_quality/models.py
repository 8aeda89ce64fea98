"""Best execution tables. (Filled in by the Best execution issue.)"""
