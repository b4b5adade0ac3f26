"""Feed ETL modules. Each exposes FEED (vigil.vulndb.build.records.Feed)."""
