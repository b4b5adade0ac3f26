"""Sources: the only code that touches disk, registries, daemons or the cluster API."""
