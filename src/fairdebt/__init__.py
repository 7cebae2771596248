"""fairdebt: one view of what a resident owes, recovered fairly."""
