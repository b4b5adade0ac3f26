"""DB distribution (issue 8): the DB as an OCI artifact or HTTP directory, atomic swap under a lock, fallback, auto-update."""
