"""Contract knowledge for the ModelsLab inpaint API: spec loading, strategies, checks, targets.

Dependency rule: this package imports no web framework; ``mockserver`` may import it, never the
reverse.
"""

from contracts.core.spec import load_document, load_openapi, operations, spec_path

__all__ = ["load_document", "load_openapi", "operations", "spec_path"]
