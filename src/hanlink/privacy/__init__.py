"""Personal-information protection (PIPL, GB/T 35273): roles, tokens, audit, deletion, retention, backups."""
