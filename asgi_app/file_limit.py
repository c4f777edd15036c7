"""The process's open-file limit against what the server may hold open at once.

A burst holds up to FORWARD_MAX_IN_FLIGHT connections to the main app, beside the callbacks'
and the REST pools, the gateway, the overlay clients and the clients of the HTTP server. Many
systems start a process with a soft limit of 1,024 descriptors (the hard limit is usually far
higher), where a draft-night burst would fail with EMFILE ("Too many open files"). At start
the soft limit is raised as far as needed and allowed; when the hard limit is too low, it is
said once, with the number wanted.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger("asgi_app")

#: Descriptors wanted beyond the forwards: the other pools, the gateway, clients, files.
HEADROOM = 1024


def ensure_file_limit(forwards_in_flight: int) -> int:
    """Raise the soft RLIMIT_NOFILE to cover `forwards_in_flight` + HEADROOM when it is lower
    (up to the hard limit); returns the soft limit in force."""
    wanted = forwards_in_flight + HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    if soft < wanted:
        log.warning(
            "open-file limit %d is below the %d that FORWARD_MAX_IN_FLIGHT=%d wants: a burst "
            "may fail with 'Too many open files'; raise the hard limit (ulimit -Hn, "
            "docker run --ulimit nofile=%d) or lower FORWARD_MAX_IN_FLIGHT",
            soft,
            wanted,
            forwards_in_flight,
            wanted,
        )
    return soft
