"""Communications with residents: letters, texts and emails (through the outbox)."""
