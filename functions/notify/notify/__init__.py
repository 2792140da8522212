"""notify: pushes every saga event to browsers over WebSocket and Server-Sent Events."""
