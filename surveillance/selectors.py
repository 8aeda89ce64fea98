"""Surveillance reads shared by views and API. (Filled in by the Surveillance issue.)"""
