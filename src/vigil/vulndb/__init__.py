"""The vulnerability DB: SQLite, versioned schema, opened read-only when scanning."""
