"""modelslab-mock: an offline, spec-validated mock of the ModelsLab inpaint API.

``create_app(config)`` builds the Flask app; ``mockserver run`` serves it. This package may
import ``contracts``; ``contracts`` never imports this package or Flask.
"""

from mockserver.web.app import create_app
from mockserver.config import MockConfig, load_config

__all__ = ["MockConfig", "create_app", "load_config"]
