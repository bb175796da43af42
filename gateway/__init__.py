"""The aduan gateway: configuration, ingest, processing, outbox, web app and CLI."""
