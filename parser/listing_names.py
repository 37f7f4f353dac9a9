"""Name tables for `iptables -L` without `-n`: service, ICMP type and host names.

Built in on purpose: `/etc/services` differs per host, so it is never read at run time. Names we
do not know are kept as printed.
"""

from __future__ import annotations

# Common /etc/services names (tcp and udp share the numbers for all of these).
SERVICES: dict[str, int] = {
    "tcpmux": 1, "echo": 7, "discard": 9, "systat": 11, "daytime": 13, "netstat": 15,
    "qotd": 17, "chargen": 19, "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25,
    "time": 37, "nameserver": 42, "whois": 43, "nicname": 43, "tacacs": 49, "re-mail-ck": 50,
    "domain": 53, "bootps": 67, "bootpc": 68, "tftp": 69, "gopher": 70, "finger": 79,
    "http": 80, "www": 80, "www-http": 80, "link": 87, "kerberos": 88, "kerberos5": 88,
    "supdup": 95, "hostnames": 101, "iso-tsap": 102, "acr-nema": 104, "csnet-ns": 105,
    "rtelnet": 107, "pop2": 109, "pop3": 110, "pop-3": 110, "sunrpc": 111, "portmapper": 111,
    "auth": 113, "ident": 113, "sftp": 115, "uucp-path": 117, "nntp": 119, "ntp": 123,
    "pwdgen": 129, "epmap": 135, "loc-srv": 135, "netbios-ns": 137, "netbios-dgm": 138,
    "netbios-ssn": 139, "imap2": 143, "imap": 143, "snmp": 161, "snmp-trap": 162,
    "snmptrap": 162, "cmip-man": 163, "cmip-agent": 164, "mailq": 174, "xdmcp": 177,
    "nextstep": 178, "bgp": 179, "prospero": 191, "irc": 194, "smux": 199, "at-rtmp": 201,
    "at-nbp": 202, "at-echo": 204, "at-zis": 206, "qmtp": 209, "z3950": 210, "ipx": 213,
    "ptp-event": 319, "ptp-general": 320, "pawserv": 345, "zserv": 346, "fatserv": 347,
    "rpc2portmap": 369, "codaauth2": 370, "clearcase": 371, "ulistserv": 372, "ldap": 389,
    "imsp": 406, "svrloc": 427, "https": 443, "snpp": 444, "microsoft-ds": 445,
    "kpasswd": 464, "urd": 465, "submissions": 465, "ssmtp": 465, "smtps": 465, "saft": 487,
    "gss-http": 488, "isakmp": 500, "rtsp": 554, "nqs": 607, "npmp-local": 610,
    "npmp-gui": 611, "hmmp-ind": 612, "asf-rmcp": 623, "qmqp": 628, "ipp": 631,
    "exec": 512, "biff": 512, "login": 513, "who": 513, "shell": 514, "syslog": 514,
    "printer": 515, "talk": 517, "ntalk": 518, "route": 520, "router": 520, "timed": 525,
    "tempo": 526, "courier": 530, "conference": 531, "netnews": 532, "netwall": 533,
    "gdomap": 538, "uucp": 540, "klogin": 543, "kshell": 544, "dhcpv6-client": 546,
    "dhcpv6-server": 547, "afpovertcp": 548, "idfp": 549, "remotefs": 556, "nntps": 563,
    "submission": 587, "ldaps": 636, "tinc": 655, "silc": 706, "kerberos-adm": 749,
    "kerberos-iv": 750, "webster": 765, "phonebook": 767, "rsync": 873, "ftps-data": 989,
    "ftps": 990, "telnets": 992, "imaps": 993, "ircs": 994, "pop3s": 995, "socks": 1080,
    "proofd": 1093, "rootd": 1094, "openvpn": 1194, "rmiregistry": 1099, "lotusnote": 1352,
    "ms-sql-s": 1433, "ms-sql-m": 1434, "ingreslock": 1524, "datametrics": 1645,
    "sa-msg-port": 1646, "kermit": 1649, "groupwise": 1677, "l2f": 1701, "l2tp": 1701,
    "radius": 1812, "radius-acct": 1813, "msnp": 1863, "unix-status": 1957, "log-server": 1958,
    "remoteping": 1959, "cisco-sccp": 2000, "search": 2010, "pipe-server": 2010, "nfs": 2049,
    "gnunet": 2086, "rtcm-sc104": 2101, "gsigatekeeper": 2119, "gris": 2135,
    "cvspserver": 2401, "venus": 2430, "venus-se": 2431, "codasrv": 2432, "codasrv-se": 2433,
    "mon": 2583, "dict": 2628, "f5-globalsite": 2792, "gsiftp": 2811, "gpsd": 2947,
    "gds-db": 3050, "icpv2": 3130, "isns": 3205, "iscsi-target": 3260, "mysql": 3306,
    "ms-wbt-server": 3389, "nut": 3493, "distcc": 3632, "daap": 3689, "svn": 3690,
    "suucp": 4031, "sysrqd": 4094, "sieve": 4190, "epmd": 4369, "remctl": 4373,
    "f5-iquery": 4353, "ntske": 4460, "ipsec-nat-t": 4500, "iax": 4569, "mtn": 4691,
    "radmin-port": 4899, "sip": 5060, "sip-tls": 5061, "xmpp-client": 5222,
    "xmpp-server": 5269, "cfengine": 5308, "mdns": 5353, "postgresql": 5432,
    "freeciv": 5556, "amqps": 5671, "amqp": 5672, "x11": 6000, "x11-1": 6001, "x11-2": 6002,
    "x11-3": 6003, "x11-4": 6004, "x11-5": 6005, "x11-6": 6006, "x11-7": 6007,
    "gnutella-svc": 6346, "gnutella-rtr": 6347, "redis": 6379, "sge-qmaster": 6444,
    "sge-execd": 6445, "mysql-proxy": 6446, "babel": 6696, "ircs-u": 6697, "ircd": 6667,
    "bbs": 7000, "afs3-fileserver": 7000, "afs3-callback": 7001, "afs3-prserver": 7002,
    "afs3-vlserver": 7003, "afs3-kaserver": 7004, "afs3-volser": 7005, "afs3-errors": 7006,
    "afs3-bos": 7007, "afs3-update": 7008, "afs3-rmtsys": 7009, "font-service": 7100,
    "http-alt": 8080, "webcache": 8080, "tproxy": 8081, "omniorb": 8088, "clc-build-daemon": 8990,
    "xinetd": 9098, "mandelspawn": 9359, "git": 9418, "zope": 9673, "zope-ftp": 8021,
    "webmin": 10000, "kamanda": 10081, "amandaidx": 10082, "amidxtape": 10083,
    "zabbix-agent": 10050, "zabbix-trapper": 10051, "smsqp": 11201, "memcache": 11211,
    "hkp": 11371, "bprd": 13720, "bpdbm": 13721, "bpjava-msvc": 13722, "vnetd": 13724,
    "bpcd": 13782, "vopied": 13783, "db-lsp": 17500, "dcap": 22125, "gsidcap": 22128,
    "wnn6": 22273, "rfe": 5002, "mmcc": 5050, "ssh-alt": 2222, "domain-s": 853,
}

# ICMP type names as iptables prints them without -n: (type, code or None for "any code").
ICMP_TYPES: dict[str, tuple[int, int | None]] = {
    "any": (255, None), "echo-reply": (0, None), "pong": (0, None),
    "destination-unreachable": (3, None), "network-unreachable": (3, 0),
    "host-unreachable": (3, 1), "protocol-unreachable": (3, 2), "port-unreachable": (3, 3),
    "fragmentation-needed": (3, 4), "source-route-failed": (3, 5), "network-unknown": (3, 6),
    "host-unknown": (3, 7), "network-prohibited": (3, 9), "host-prohibited": (3, 10),
    "TOS-network-unreachable": (3, 11), "TOS-host-unreachable": (3, 12),
    "communication-prohibited": (3, 13), "host-precedence-violation": (3, 14),
    "precedence-cutoff": (3, 15), "source-quench": (4, None), "redirect": (5, None),
    "network-redirect": (5, 0), "host-redirect": (5, 1), "TOS-network-redirect": (5, 2),
    "TOS-host-redirect": (5, 3), "echo-request": (8, None), "ping": (8, None),
    "router-advertisement": (9, None), "router-solicitation": (10, None),
    "time-exceeded": (11, None), "ttl-exceeded": (11, None),
    "ttl-zero-during-transit": (11, 0), "ttl-zero-during-reassembly": (11, 1),
    "parameter-problem": (12, None), "ip-header-bad": (12, 0),
    "required-option-missing": (12, 1), "timestamp-request": (13, None),
    "timestamp-reply": (14, None), "address-mask-request": (17, None),
    "address-mask-reply": (18, None),
}

ICMP6_TYPES: dict[str, tuple[int, int | None]] = {
    "destination-unreachable": (1, None), "no-route": (1, 0),
    "communication-prohibited": (1, 1), "beyond-scope": (1, 2), "address-unreachable": (1, 3),
    "port-unreachable": (1, 4), "failed-policy": (1, 5), "reject-route": (1, 6),
    "packet-too-big": (2, None), "time-exceeded": (3, None), "ttl-exceeded": (3, None),
    "ttl-zero-during-transit": (3, 0), "ttl-zero-during-reassembly": (3, 1),
    "parameter-problem": (4, None), "bad-header": (4, 0), "unknown-header-type": (4, 1),
    "unknown-option": (4, 2), "echo-request": (128, None), "ping": (128, None),
    "echo-reply": (129, None), "pong": (129, None), "mld-listener-query": (130, None),
    "mld-listener-report": (131, None), "mld-listener-done": (132, None),
    "mld-listener-reduction": (132, None), "router-solicitation": (133, None),
    "router-advertisement": (134, None), "neighbour-solicitation": (135, None),
    "neighbor-solicitation": (135, None), "neighbour-advertisement": (136, None),
    "neighbor-advertisement": (136, None), "redirect": (137, None),
}

LOG_LEVELS: dict[str, int] = {
    "emerg": 0, "panic": 0, "alert": 1, "crit": 2, "error": 3, "err": 3, "warning": 4,
    "warn": 4, "notice": 5, "info": 6, "debug": 7,
}
# Words `-L` prints for LOG flags without -n, and the save option of each.
LOG_FLAG_WORDS: dict[str, str] = {
    "tcp-sequence": "--log-tcp-sequence",
    "tcp-options": "--log-tcp-options",
    "ip-options": "--log-ip-options",
    "uid": "--log-uid",
    "macdecode": "--log-macdecode",
}
LOG_FLAG_BITS: tuple[tuple[int, str], ...] = (
    (0x01, "--log-tcp-sequence"),
    (0x02, "--log-tcp-options"),
    (0x04, "--log-ip-options"),
    (0x08, "--log-uid"),
    (0x20, "--log-macdecode"),
)

TCP_FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10), ("URG", 0x20),
)


def service_port(name: str) -> str:
    """`domain` -> `53`; numbers and unknown names are returned as given."""
    port = SERVICES.get(name)
    return str(port) if port is not None else name


def tcp_flag_names(value: int) -> str:
    """0x17 -> `FIN,SYN,RST,ACK` (the order iptables-save prints); 0 -> `NONE`."""
    names = [name for name, bit in TCP_FLAG_BITS if value & bit]
    return ",".join(names) if names else "NONE"
