"""The patient portal's pages that need no app: sign-in and its second factor, the
notifications, the public pages, and the anonymous lifecycle journeys.

The pages of a space (its home, trail, download, closure) need the access policy and
the trail: they live in `acces.space_views`, mounted by `espace_sante/urls.py`.
"""
