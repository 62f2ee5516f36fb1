"""The configured identity provider, built once per execution environment.

Apart from the port (`base`), so that the port does not import the providers that implement it.
"""

from __future__ import annotations

import functools

from sentrix_auth.providers.base import IdentityProvider
from sentrix_auth.settings import Provider, get_auth_settings


@functools.cache
def _provider(kind: Provider) -> IdentityProvider:
    if kind is Provider.SUPABASE:
        # supabase (and its HTTP stack) is imported only when this provider is configured.
        from sentrix_auth.providers.supabase import SupabaseProvider

        return SupabaseProvider(get_auth_settings())
    from sentrix_auth.providers.builtin import BuiltinProvider

    return BuiltinProvider(get_auth_settings())


def get_provider() -> IdentityProvider:
    """The configured provider of this execution environment."""
    return _provider(get_auth_settings().auth_provider)


def reset_provider() -> None:
    """Forget the cached provider and settings (tests switching AUTH_PROVIDER)."""
    _provider.cache_clear()
    get_auth_settings.cache_clear()
