"""The public transforms: each is one ``Trace`` level plus one API function."""
