"""The HTTP API (FastAPI). Start at :func:`api.app.create_app`.

The app serves the :class:`~studyhall.services.Services` that
:func:`~studyhall.services.build_services` makes. Routes are thin and live per feature in
``api/routes/``; they reach the services through ``api.deps`` (tests swap one with
``app.dependency_overrides``) and return the response models of :mod:`api.schemas`, the
wire format, which is also where every URL is built. Errors become HTTP statuses in one
place, :mod:`api.errors`.
"""
