"""Staff workbench: registry, requests, review, publication."""
