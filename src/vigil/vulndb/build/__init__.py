"""`vigil db build`: one ETL module per feed (vulndb/build/feeds/), merged into one SQLite DB."""
