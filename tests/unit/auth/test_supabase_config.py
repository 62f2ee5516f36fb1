"""The Supabase provider's configuration (docs/auth.md): SUPABASE_URL and SUPABASE_ANON_KEY, Auth at /auth/v1."""

from __future__ import annotations

import pytest

from sentrix.errors import DependencyUnavailable
from sentrix_auth.providers.supabase import SupabaseProvider
from sentrix_auth.settings import AuthSettings


@pytest.mark.parametrize(
    ("url", "anon_key"),
    [(None, "anon"), ("https://project.supabase.co", None), ("", "anon"), ("https://project.supabase.co", "")],
)
def test_without_both_the_url_and_the_anon_key_supabase_is_unavailable(url, anon_key):
    with pytest.raises(DependencyUnavailable):
        SupabaseProvider(AuthSettings(supabase_url=url, supabase_anon_key=anon_key))


@pytest.mark.parametrize("url", ["https://project.supabase.co", "https://project.supabase.co/"])
def test_supabase_auth_lives_under_auth_v1_of_the_project_url(url):
    provider = SupabaseProvider(AuthSettings(supabase_url=url, supabase_anon_key="anon"))

    assert provider.auth_url == "https://project.supabase.co/auth/v1"


@pytest.mark.parametrize(
    "url", ["https://gateway.example.org/supabase/PROJECTX", "https://gateway.example.org/supabase/PROJECTX/"]
)
def test_only_the_trailing_slash_of_the_project_url_is_dropped(url):
    """A self-hosted project under a path keeps all of it (here a path ending in `X`, which stripping any other
    character than `/` would eat)."""
    provider = SupabaseProvider(AuthSettings(supabase_url=url, supabase_anon_key="anon"))

    assert provider.auth_url == "https://gateway.example.org/supabase/PROJECTX/auth/v1"
