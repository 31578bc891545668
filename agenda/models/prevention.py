"""Prevention rules (kept as data) and each person's reminders (`agenda.prevention`)."""
