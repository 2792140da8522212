"""The local OpenFaaS-compatible gateway: runs the functions of stack.yml and their schedules."""
