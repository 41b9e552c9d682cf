"""The composition root: the registry of bounded contexts, the wiring of each process in
each mode, and the `tanqory` command line. It imports every layer; no layer imports it."""
