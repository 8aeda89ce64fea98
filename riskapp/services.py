"""Market risk services: the only place that writes. (Filled in by the Market risk issue.)"""
