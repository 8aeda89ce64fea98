"""Surveillance services: the only place that writes. (Filled in by the Surveillance issue.)"""
