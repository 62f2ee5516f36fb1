"""Identity providers: the built-in one (users in PostGIS) and Supabase Auth, behind one port."""
