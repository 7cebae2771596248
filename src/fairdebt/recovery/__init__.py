"""Recovery: pathway steps, fees and referrals to enforcement agents (the pathway engine comes later)."""
