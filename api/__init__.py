"""The HTTP API (FastAPI). Start at :func:`api.app.create_app`.

Routes are thin and live per feature in ``api/routes/``; they call the services
(:class:`retriever.service.SearchService`) obtained through ``api.deps``, so tests can
swap them with ``app.dependency_overrides``. Domain errors become HTTP errors in one
place, :mod:`api.errors`.
"""
