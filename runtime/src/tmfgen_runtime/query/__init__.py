"""TMF630 queries: `fields` selection, Query-Filters parsed once (`filters_parse`) against the
attributes a resource has (`filters_catalog`), evaluated in Python (`filters`) or compiled to SQL
(`filters_sql`), and the LIST query they make together (`query`)."""
