"""Synthetic data: a council's own extracts (council.generate) and the national DWP extract (dwp).

Nothing is imported here, so that importing one generator does not load the other.
"""
