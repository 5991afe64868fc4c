"""Staff: people, their roles, team memberships, licences (with expiry warnings) and CSV import."""
