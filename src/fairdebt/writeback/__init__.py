"""Write-back to legacy case systems (revenues, housing), through the outbox."""
