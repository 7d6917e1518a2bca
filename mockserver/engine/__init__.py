"""The request engine: context, ordered steps, parsing, normalising, validation, directives, errors."""
