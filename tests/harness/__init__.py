"""The shared channel-test harness.

* :mod:`tests.harness.fake_provider`: the base of every fake provider API
  (records requests, answers scripted failures, starts on a local port); each
  provider's fake adds only its wire-format routes.
* :mod:`tests.harness.payloads`: recorded webhook payloads from
  ``tests/<provider>/data/`` by name, with field substitutions.
* :mod:`tests.harness.incoming`: table-driven parse cases (name, payload,
  expected error, expected message fields).
* :mod:`tests.harness.conversation`: a driver that posts what a citizen says
  through a channel and returns what the fake provider was asked to send, so a
  conversation test reads as a table of turns.
"""
