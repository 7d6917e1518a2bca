"""What an operation does once a request is accepted, looked up by its x-mock-behaviour."""
