"""Accounts' credentials: passwords, sessions, CSRF, throttling and one-time links."""
