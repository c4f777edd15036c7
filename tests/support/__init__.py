"""Helpers shared by the test areas: loopback ports, a real uvicorn server, tool checks."""
