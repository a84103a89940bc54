"""The web portal: search forms built from TAP_SCHEMA, results, the ADQL page, for people in a browser."""

__all__: list[str] = []
