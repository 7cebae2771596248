"""The rules of the domain in plain Python: no Django, no I/O."""
