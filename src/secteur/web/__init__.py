"""The web UI for people: server-rendered pages (Jinja2 + htmx) over the API's services."""
