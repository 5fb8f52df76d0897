"""Workflow: accounts and sign-in, uploads, review, progress, administration.
Imports the catalogue, storage, ingest and indicators."""
