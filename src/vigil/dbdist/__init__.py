"""DB distribution: the DB as an OCI artifact or HTTP directory, atomic swap under a lock, fallback, auto-update."""
