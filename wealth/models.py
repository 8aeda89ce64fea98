"""Wealth tables. (Filled in by the Wealth issue.)"""
