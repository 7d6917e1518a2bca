"""Record episodes against the real API (``mockserver record``) and replay them (``run --replay``)."""
