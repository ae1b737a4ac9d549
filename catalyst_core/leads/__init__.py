"""Lead scoring: per-client settings, results with their components and label, and their history."""
