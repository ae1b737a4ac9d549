"""Users, credentials and the actor a request runs as."""
