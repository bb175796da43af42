"""The one webhook pipeline for every provider route (docs/webhooks.md).

Every provider request goes through the same steps, in this order:

1. **size cap** for the route (:data:`gateway.webhooks.caps.BODY_CAPS`), on ``Content-Length`` and
   while reading (:func:`gateway.webhooks.caps.body_caps` middleware): never more than the cap is
   buffered;
2. **signature or secret** checked over the raw bytes, before any parsing;
3. **decoding**: Twilio forms with :func:`urllib.parse.parse_qsl` over the
   capped bytes, JSON with a nesting limit (:data:`gateway.webhooks.decode.JSON_MAX_DEPTH`); a body
   that is not a form or not JSON is answered 400;
4. **parsing** by the channel module into inbound messages and delivery
   reports (pure functions of the provider's wire format);
5. **sanitising** (:mod:`gateway.inbound.sanitise`): NUL and
   lone surrogates removed, every stored string cut to its column length (from
   the SQLAlchemy models), the full value kept in ``raw["_originals"]``;
6. **storing**: messages through ``Runtime.accept`` (group commit,
   :class:`gateway.ingest.IngestBatcher`), reports through
   :func:`gateway.delivery.record_delivery_status`; steps 4-6 run within the
   webhook deadline (:mod:`gateway.webhooks.deadline`): past it the answer is
   503 with ``Retry-After`` and the provider redelivers;
7. **acknowledging** once everything is committed.

A signed payload never gets a 5xx for what it contains: what cannot be
parsed or stored is answered 200 and kept in ``quarantined_inbound`` with the
reason (:mod:`gateway.inbound.store`), so the provider stops redelivering it and staff
can look at it. Only a database that cannot be reached, or not within the
deadline, gives a 5xx (the provider then retries, reliability rule 1). Logs name the route and the kind
of fault, never a value from the payload (it holds phone numbers, names and
complaint text).
"""
