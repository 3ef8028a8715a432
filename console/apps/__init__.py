"""Apps: one backend each, with its keys, mode, flags and members."""
