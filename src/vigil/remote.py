"""Client mode (issue 8): talk to a vigil server (remote blob cache + remote detection)."""
