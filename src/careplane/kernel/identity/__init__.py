"""Users, roles, sessions, API tokens and multi-factor authentication."""
