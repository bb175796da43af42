"""What arrives from a provider, by webhook or by polling: sanitised to the
columns' limits and stored once, or kept aside with the reason
(docs/webhooks.md, "Quarantine")."""
