"""Runnable local stand-ins for external services."""
