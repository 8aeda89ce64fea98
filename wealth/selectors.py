"""Wealth reads shared by views and API. (Filled in by the Wealth issue.)"""
