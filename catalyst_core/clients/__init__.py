"""Clients (the agency's brands), their members and the roles members hold."""
