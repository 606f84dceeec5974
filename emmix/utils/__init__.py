"""Utilities for writing and checking EM families."""
