"""Every SQL statement pixvault runs, one module per table, built once where they are hot.

Services call these functions with a connection from `Database.read()` or `.write()`; nothing
outside `db/` builds SQL. The benchmark's query-plan section explains these same statements.
"""
