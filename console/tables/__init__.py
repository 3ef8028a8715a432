"""Tables: an app's data model (tables, fields, relations, indexes), its records and its isolation."""
