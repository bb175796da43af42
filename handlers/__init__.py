"""Conversation and workflow logic: SOP profiles, the intake engine, commands."""
