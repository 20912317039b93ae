"""Plumbing every domain uses and none owns: database sessions, problem+json errors and the
OpenAPI answers, paging, rate and body limits, request middleware, page headers, keys, time.

Nothing here knows a practitioner, a score or a referral: kit imports no domain package
(the layers contract in ``.importlinter``).
"""
