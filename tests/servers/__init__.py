"""Reference-server tests: documented behaviour and the effect of every fault."""
