"""Integrations through the Tagger's public methods: spaCy, scikit-learn, Dask, the web server."""
