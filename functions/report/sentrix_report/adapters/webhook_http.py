"""POSTing a signed webhook: to the address that passed the SSRF check, never following redirects.

The URL's host is resolved and checked (logic/subscription_targets.py) just before; the connection goes to that
address while TLS still verifies the certificate against the host name (SNI and the `Host` header carry the
name), so a DNS answer that changes between check and connect cannot point the request elsewhere.
"""

from __future__ import annotations

import httpx

from sentrix_report.logic.subscription_targets import WebhookUrl

USER_AGENT = "Sentrix-Webhooks/1"


class WebhookFailed(Exception):
    """The receiver could not be reached or did not answer in time: the delivery is retried."""


def _pinned(url: WebhookUrl, address: str) -> str:
    """The URL with its host replaced by the checked address (httpx brackets an IPv6 one)."""
    return str(httpx.URL(url.url).copy_with(host=address, port=url.port))


class HttpWebhook:
    """The real webhook channel (httpx); one client per execution environment."""

    def __init__(self, timeout_s: float, transport: httpx.BaseTransport | None = None) -> None:
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_s), follow_redirects=False, transport=transport, trust_env=False
        )

    def post(self, url: WebhookUrl, address: str, body: bytes, headers: dict[str, str]) -> int:
        """The receiver's HTTP status; WebhookFailed when there is none (connection, TLS, timeout)."""
        request = self.client.build_request(
            "POST",
            _pinned(url, address),
            content=body,
            headers={
                **headers,
                "Host": _host_header(url),
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
            },
            extensions={"sni_hostname": url.host},
        )
        try:
            response = self.client.send(request)
            response.close()
        except httpx.HTTPError as exc:
            raise WebhookFailed(type(exc).__name__) from exc
        return response.status_code

    def close(self) -> None:
        self.client.close()


def _host_header(url: WebhookUrl) -> str:
    default = 443 if url.scheme == "https" else 80
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port == default else f"{host}:{url.port}"
