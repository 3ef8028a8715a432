"""Platform administration (staff only): every app's switches and the user list."""
