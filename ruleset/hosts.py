"""Reverse-DNS names a host commonly prints for well-known addresses (`iptables -L` without
`-n`): the listing parser reads them back as addresses, and the search's text prefilter keeps
rules that show them."""

from __future__ import annotations

HOSTS_V4: dict[str, str] = {
    "default": "0.0.0.0",  # /etc/networks name of 0.0.0.0
    "localhost": "127.0.0.1",
    "localhost.localdomain": "127.0.0.1",
    "loopback": "127.0.0.0",
    "link-local": "169.254.0.0",
    "base-address.mcast.net": "224.0.0.0",
    "all-systems.mcast.net": "224.0.0.1",
    "all-routers.mcast.net": "224.0.0.2",
    "broadcasthost": "255.255.255.255",
}
HOSTS_V6: dict[str, str] = {
    "localhost": "::1",
    "ip6-localhost": "::1",
    "ip6-loopback": "::1",
    "localhost6": "::1",
    "ip6-allnodes": "ff02::1",
    "ip6-allrouters": "ff02::2",
}
