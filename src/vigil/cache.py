"""Analysis cache (issue 4): BlobInfo records keyed by diff_id + analyzer versions + options."""
