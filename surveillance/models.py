"""Surveillance tables. (Filled in by the Surveillance issue.)"""
