"""What was found: packages, their locations and relationships, and inputs that could not be read."""
