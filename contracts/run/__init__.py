"""Running contract suites: targets, runner, packaged suite, cassettes, budget, profiles."""
