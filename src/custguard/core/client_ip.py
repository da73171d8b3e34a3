"""The client's IP address, as far as it can be trusted.

Directly exposed, the client is REMOTE_ADDR. Behind reverse proxies, REMOTE_ADDR is the nearest
proxy and the client is in X-Forwarded-For, which every proxy appends to — but which the client
can also fill with anything it likes. So X-Forwarded-For is read only when REMOTE_ADDR is one of
`CUSTGUARD_TRUSTED_PROXIES`, and then from the right: each trusted proxy's hop is skipped and the
first address that is not a trusted proxy is the client. Anything to its left was written by the
client itself and is ignored. The login lockout (django-axes, `AXES_CLIENT_IP_CALLABLE`) keys on
this address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

from custguard.env import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> IPAddress | None:
    """An address as a proxy writes it ("1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443",
    "2001:db8::1"); an IPv4-mapped IPv6 address as its IPv4 form; None if it is not one."""
    text = text.strip().strip('"')
    if text.startswith("["):  # [IPv6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_ip_from(remote_addr: str, forwarded_for: str,
                   proxies: Iterable[IPNetwork]) -> str:
    """The client's address from REMOTE_ADDR and X-Forwarded-For, trusting only `proxies`."""
    proxies = tuple(proxies)
    remote = parse_address(remote_addr)
    if remote is None:
        return remote_addr
    if not proxies or not _trusted(remote, proxies):
        return str(remote)
    client = remote
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if address is None:
            break  # a garbled hop: keep the last address a trusted proxy vouched for
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)


def client_ip(request: HttpRequest) -> str:
    return client_ip_from(request.META.get("REMOTE_ADDR", ""),
                          request.META.get("HTTP_X_FORWARDED_FOR", ""),
                          settings.CUSTGUARD_TRUSTED_PROXIES)
