"""Outside systems the auth function reads directly (Supabase's token keys for the authorizer)."""
