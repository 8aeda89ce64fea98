"""Best execution services: the only place that writes. (Filled in by the Best execution issue.)"""
