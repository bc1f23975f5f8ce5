"""End-to-end tests: a real `hass` process, driven over HTTP and websockets like a user."""
