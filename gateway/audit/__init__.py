"""The audit log: guild events as embeds posted to a channel through DiscordRest (`log`)."""

from gateway.audit.log import AuditLog

__all__ = ["AuditLog"]
