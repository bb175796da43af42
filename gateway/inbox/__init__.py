"""The secretariat's staff web app at ``/inbox`` (README.md, "Staff inbox"): sign-in, inbox, complaint pages."""
