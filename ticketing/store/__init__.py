"""The ticket store: tables, column types, connections, field encryption, SQL helpers,
migrations and the reference data a new database starts with."""
