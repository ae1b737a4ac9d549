"""Creative submissions: ad creatives a client's team submits for its admins' approval."""
