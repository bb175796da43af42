"""The shared channel-test harness.

* :mod:`tests.harness.fake_provider`: the base of every fake provider API
  (records requests, answers scripted failures, starts on a local port); each
  provider's fake adds only its wire-format routes.
* :mod:`tests.harness.payloads`: recorded payloads from
  ``tests/<provider>/data/`` by name, with field substitutions.
* :mod:`tests.harness.incoming`: table-driven parse cases (name, payload,
  expected error, or expected message fields).
* :mod:`tests.harness.webhooks`: table-driven webhook cases (name, payload,
  expected status and answer, the message stored or the row quarantined).
* :mod:`tests.harness.conversation`: a driver that posts what a citizen says
  through a channel's webhook or poller and returns what the fake provider
  was asked to send, so a conversation test reads as a table of turns;
  :mod:`tests.harness.conversations` holds the tables every channel plays.
* :mod:`tests.harness.rows` and :mod:`tests.harness.settings`: counting rows,
  waiting for a poller, and the gateway's settings on a SQLite file.
"""
