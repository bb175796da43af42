"""Who works on appeals in the staff pages (PR-LS-8.1.4; BBSPJIKFK 5.1.11 step 6)."""

from __future__ import annotations

from handlers.profile import Profile


def may_see_appeals(profile: Profile, role: str) -> bool:
    """Whether ``role`` works on appeals: ``admin`` or a role the profile's appeal
    section names (opening, step owners, pass-on targets, competent roles)."""
    spec = profile.appeal
    return spec is not None and (role == "admin" or role in spec.roles_used())
