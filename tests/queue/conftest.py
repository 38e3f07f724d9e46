from .processes import process_database  # noqa: F401  (session fixture)
