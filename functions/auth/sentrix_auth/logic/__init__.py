"""What the auth function does: sessions, profiles, settings, activity and user administration."""
