"""Storage: the database, its tables, periods, org units, master data, the audit trail and
the stored aggregates (rollup, township months). Imports only the catalogue."""
