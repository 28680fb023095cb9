"""Running the platform: the private Redis launcher, gunicorn configs, `make run`."""
