"""Accounts: sign-in, sign-out and platform users (Django's auth with bcrypt hashes)."""
