"""ModelsLab semantics as checks, Hypothesis strategies and the client fuzzer."""
