"""The HTTP APIs: Falcon WSGI apps for upload (:8002) and invoke (:8080).

Resources only translate between HTTP and the core (``faasm/``); they get
their dependencies through the app factory and never talk to Redis or the
wasm runtime themselves.
"""
