"""Developer tools: checks on the code base itself, not used by the library at run time."""
