"""Storage: the SQLite run store, content-addressed audio blobs and the speech cache."""
