"""Channel adapters: one module per provider, each turning the provider's wire
format into :class:`channels.base.InboundMessage` and sending replies back."""
