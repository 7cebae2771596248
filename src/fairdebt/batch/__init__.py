"""Batch analytics that run outside the web request cycle (record linkage, ...). No Django imports."""
