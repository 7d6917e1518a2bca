"""Where state lives: the store protocol and its backends, jobs, the clock, the journal."""
