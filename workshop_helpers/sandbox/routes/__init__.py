"""The sandbox's HTTP routes, one Flask blueprint per API: `voice` (Voice API v1),
`applications` (Application API v2 and the numbers live mode asks for) and `control`
(the sandbox's own /sandbox routes). Their views read a request, call the backend
(backend.py) and write its answer; `error_bodies` turns every error into one JSON shape
(RFC 7807).
"""
