"""Queries of the upload function that no other function needs."""
