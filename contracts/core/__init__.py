"""Spec loading, transport, redaction, sampling and schema checks: no ModelsLab knowledge."""
