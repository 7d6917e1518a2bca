"""HTTP: the WSGI adapter for spec routes, the admin API, output files and the server."""
