"""Scale-out test: several ``aduan serve`` and ``aduan worker`` processes on one
PostgreSQL and Redis, driven by signed Twilio webhooks through injected faults
(README, "Scale-out test")."""
