"""Wealth services: the only place that writes. (Filled in by the Wealth issue.)"""
