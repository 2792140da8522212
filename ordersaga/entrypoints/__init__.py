"""Entry points: the OpenFaaS python3-http contract shared by every function handler."""
