"""The engine: primitives and their families, interpreter levels, the tape, pytrees."""
